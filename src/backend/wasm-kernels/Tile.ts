/**
 * Tile along leading axes only (what broadcastTo asks for, e.g. [1,1,1,C] to [N,H,W,C], in the Sum and Mean
 * gradients): the shipped kernel computes every element's source index through strides, ~400× slower than
 * repeating x's block. Other tilings go to the shipped kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '../../tf.js';
import { fewElements, heapOf, offsetOf } from '../wasm-native.js';
import { argsOf, sizeOf, withoutLeadingOnes, type KernelArgs, type WasmKernel } from './kernel.js';

/** A new tensor of `shape` holding x's values repeated back to back (x repeating along leading axes). */
export function repeatToShape(backend: BackendWasm, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  const out = backend.makeOutput(shape, x.dtype);
  const size = sizeOf(shape);
  if (size === 0) return out;
  const values = backend.typedArrayFromHeap(out);
  values.set(backend.typedArrayFromHeap(x));
  // Doubling copies: log2(repeats) block copies instead of one per repeat or per element.
  for (let filled = sizeOf(x); filled < size; filled *= 2)
    values.copyWithin(filled, 0, Math.min(filled, size - filled));
  return out;
}

/** x and the output shape of a leading-axis tile, or undefined for other tilings. */
function leadingTile(args: KernelArgs) {
  const { inputs, attrs, backend } = argsOf<{ x: tf.TensorInfo }, tf.TileAttrs>(args);
  const { x } = inputs;
  const { reps } = attrs;
  if (
    x.dtype === 'string' ||
    reps.length !== x.shape.length ||
    reps.some((r) => !Number.isInteger(r) || r < 0)
  )
    return undefined;
  const firstKept = x.shape.length - withoutLeadingOnes(x.shape).length;
  if (reps.slice(firstKept).some((r) => r !== 1)) return undefined;
  return { backend, x, shape: x.shape.map((d, i) => d * reps[i]!) };
}

export const Tile: WasmKernel = {
  kernelName: tf.Tile,
  native(args, pack) {
    const t = leadingTile(args);
    if (t === undefined || t.x.dtype !== 'float32' || fewElements(sizeOf(t.shape))) return undefined;
    const out = t.backend.makeOutput(t.shape, 'float32');
    pack.repeat(
      heapOf(t.backend, out),
      offsetOf(t.backend, t.x),
      offsetOf(t.backend, out),
      sizeOf(t.shape),
      sizeOf(t.x),
    );
    return out;
  },
  wasm(args) {
    const t = leadingTile(args);
    return t && repeatToShape(t.backend, t.x, t.shape);
  },
};
