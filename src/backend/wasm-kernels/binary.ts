/**
 * The element-wise binary kernels (Add, Sub, Multiply, RealDiv) where one operand repeats along leading
 * axes (a per-channel [C] or [1,1,1,C] against [N,H,W,C]): the shipped kernels take a scalar broadcast
 * loop there, ~5× slower than on equal shapes.
 */
import * as tf from '../../tf.js';
import { fewElements, heapOf, offsetOf, threshold } from '../wasm-native.js';
import { argsOf, repeatsTo, sizeOf, type KernelArgs, type WasmKernel } from './kernel.js';
import { repeatToShape } from './Tile.js';

/** Outputs below this size keep the shipped broadcast: the copy would cost more than it saves. */
export const MIN_EXPANDED_SIZE = 4096;
const minExpandedSize = threshold(MIN_EXPANDED_SIZE);

/** Sets the output size below which broadcasts keep the shipped kernel (tests set 0); returns the old one. */
export const setBroadcastThreshold = minExpandedSize.set;

/** The full-shape operand, the repeating one and the output shape, or undefined for other broadcasts. */
function repetition(args: KernelArgs) {
  const { inputs, backend } = argsOf<{ a: tf.TensorInfo; b: tf.TensorInfo }>(args);
  const { a, b } = inputs;
  if (a.dtype === 'string' || b.dtype === 'string') return undefined;
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const size = sizeOf(shape);
  const full = (t: tf.TensorInfo) => sizeOf(t) === size;
  const small =
    full(a) && repeatsTo(b.shape, shape) ? b : full(b) && repeatsTo(a.shape, shape) ? a : undefined;
  if (small === undefined) return undefined;
  return { backend, a, b, small, big: small === a ? b : a, shape, size };
}

/** A binary kernel whose native op code (native/src/binary.cc) is `op`. */
export function broadcastBinary(kernelName: string, op: number): WasmKernel {
  return {
    kernelName,
    /** Float32, one operand full-shape and the other repeating (scalars and equal shapes included). */
    native(args, pack) {
      const r = repetition(args);
      if (r === undefined || !(r.a.dtype === 'float32' && r.b.dtype === 'float32') || fewElements(r.size))
        return undefined;
      const out = r.backend.makeOutput(r.shape, 'float32');
      const at = (t: tf.TensorInfo) => offsetOf(r.backend, t);
      const period = sizeOf(r.small);
      pack.binary(
        op,
        heapOf(r.backend, out),
        at(r.big),
        at(r.small),
        at(out),
        r.size,
        period,
        r.small === r.a ? 1 : 0,
      );
      return out;
    },
    /**
     * The repeating operand copied to the full shape with doubling copies, then the shipped equal-shape
     * (XNNPACK) kernel: the same values, 3–4× faster. Scalars keep the shipped kernels' own fast path.
     */
    wasm(args) {
      const r = repetition(args);
      if (
        r === undefined ||
        r.size < minExpandedSize.value() ||
        sizeOf(r.small) <= 1 ||
        sizeOf(r.small) === r.size
      )
        return undefined;
      const expanded = repeatToShape(r.backend, r.small, r.shape);
      const inputs = r.small === r.a ? { a: expanded, b: r.b } : { a: r.a, b: expanded };
      const kernel = tf.getKernel(kernelName, 'wasm')!;
      const out = kernel.kernelFunc({ ...args, inputs }) as tf.TensorInfo;
      r.backend.disposeData(expanded.dataId);
      return out;
    },
  };
}
