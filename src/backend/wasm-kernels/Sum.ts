/**
 * Sum of float32 over leading axes (batch statistics, the gradients of broadcast adds in NHWC nets): the
 * shipped kernel transposes the whole tensor first. Both implementations add in double, so that a sum of
 * whole numbers is exact wherever float32 can hold it. Other reductions go to the shipped kernel.
 */
import * as tf from '../../tf.js';
import { fewElements, heapOf, offsetOf, type NativePack } from '../wasm-native.js';
import {
  argsOf,
  heapF32,
  leadingAxes,
  reducedShape,
  sizeOf,
  type KernelArgs,
  type WasmKernel,
} from './kernel.js';

/** The [rows, cols] view of a leading-axis reduction of float32 x and its output shape, or undefined. */
export function leadingReduction(args: KernelArgs) {
  const { inputs, attrs, backend } = argsOf<{ x: tf.TensorInfo }, tf.SumAttrs>(args);
  const { x } = inputs;
  const count = x.dtype === 'float32' ? leadingAxes(x.shape, attrs.axis) : undefined;
  if (count === undefined) return undefined;
  const rows = sizeOf(x.shape.slice(0, count));
  const cols = sizeOf(x.shape.slice(count));
  return { backend, x, rows, cols, shape: reducedShape(x.shape, count, attrs.keepDims) };
}

/** Column sums of x seen as [rows, cols], in double, divided by `divisor`. */
export function columnSums(args: KernelArgs, divisor: (rows: number) => number): tf.TensorInfo | undefined {
  const r = leadingReduction(args);
  if (r === undefined) return undefined;
  const { backend, x, rows, cols } = r;
  const out = backend.makeOutput(r.shape, 'float32');
  const xs = heapF32(backend, x);
  const totals = new Float64Array(cols);
  for (let i = 0, at = 0; i < rows; i++) for (let c = 0; c < cols; c++, at++) totals[c]! += xs[at]!;
  const d = divisor(rows);
  heapF32(backend, out).set(totals.map((t) => t / d));
  return out;
}

/** The same in the native pack, on every core for large tensors. */
export function nativeColumnSums(
  args: KernelArgs,
  pack: NativePack,
  divisor: (rows: number) => number,
): tf.TensorInfo | undefined {
  const r = leadingReduction(args);
  if (r === undefined || fewElements(r.rows * r.cols)) return undefined;
  const out = r.backend.makeOutput(r.shape, 'float32');
  const at = (t: tf.TensorInfo) => offsetOf(r.backend, t);
  pack.sumRows(heapOf(r.backend, out), at(r.x), at(out), r.rows, r.cols, divisor(r.rows));
  return out;
}

export const Sum: WasmKernel = {
  kernelName: tf.Sum,
  native: (args, pack) => nativeColumnSums(args, pack, () => 1),
  wasm: (args) => columnSums(args, () => 1),
};
