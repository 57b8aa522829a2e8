/**
 * What the kernel files of this folder share. Each file holds one tfjs kernel for the wasm backend as the
 * project runs it: a `wasm` implementation over the backend's heap or its own XNNPACK kernels, a `native`
 * one through the optional native pack (native/, src/backend/wasm-native.ts), or both. Either returns
 * undefined for a case it leaves to the next: native → wasm → the kernel tfjs-backend-wasm ships
 * (src/backend/wasm-training-kernels.ts composes them). Every implementation checks the shapes it is given,
 * not only what the project's own callers send, and never reads or writes outside its tensors.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '../../tf.js';
import type { NativePack } from '../wasm-native.js';

export type KernelArgs = Parameters<tf.KernelFunc>[0];
export type KernelOutput = tf.TensorInfo | tf.TensorInfo[];

export interface WasmKernel {
  readonly kernelName: string;
  /** The project's wasm implementation; undefined for the cases it leaves to the shipped kernel. */
  readonly wasm?: (args: KernelArgs) => KernelOutput | undefined;
  /** The native pack's implementation; undefined for the cases it leaves to `wasm`. */
  readonly native?: (args: KernelArgs, pack: NativePack) => KernelOutput | undefined;
}

export function backendOf(args: KernelArgs): BackendWasm {
  return args.backend as BackendWasm;
}

/** The inputs and attributes of a kernel call, typed as the caller declares them. */
export function argsOf<I extends Record<string, tf.TensorInfo>, A = object>(
  args: KernelArgs,
): { inputs: I; attrs: A; backend: BackendWasm } {
  return { inputs: args.inputs as I, attrs: (args.attrs ?? {}) as unknown as A, backend: backendOf(args) };
}

export function heapF32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

export const sizeOf = (t: tf.TensorInfo | number[]) => tf.util.sizeFromShape(Array.isArray(t) ? t : t.shape);

/** A new float32 (or `dtype`) tensor of zeros. */
export function zeros(backend: BackendWasm, shape: number[], dtype: tf.DataType = 'float32'): tf.TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  backend.typedArrayFromHeap(out).fill(0);
  return out;
}

/** x's data under another shape or dtype label, shared (the engine counts references; no kernel writes into an input). */
export function shared(
  backend: BackendWasm,
  x: tf.TensorInfo,
  shape = x.shape,
  dtype = x.dtype,
): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype };
}

/**
 * What a sum over an empty range gives, for kernels whose every output element is one (the convolution
 * gradients, matrix products): an empty output when it has no elements, zeros when an input has none,
 * undefined otherwise. The compositions below would hand XNNPACK an empty reduction, which leaves the
 * output unwritten.
 */
export function emptySum(
  backend: BackendWasm,
  outShape: number[],
  inputs: tf.TensorInfo[],
): tf.TensorInfo | undefined {
  if (sizeOf(outShape) === 0) return backend.makeOutput(outShape, 'float32');
  if (inputs.some((t) => sizeOf(t) === 0)) return zeros(backend, outShape);
  return undefined;
}

export const isFloat32 = (...ts: tf.TensorInfo[]) => ts.every((t) => t.dtype === 'float32');
export const isRank = (rank: number, ...ts: (tf.TensorInfo | number[])[]) =>
  ts.every((t) => (Array.isArray(t) ? t : t.shape).length === rank);

/** Runs a kernel registered for wasm (the shipped one, or the project's where it replaced it) in place. */
export function runKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (kernel === undefined) throw new Error(`wasm kernel ${kernelName} is not registered`);
  return kernel.kernelFunc({ inputs, attrs, backend }) as tf.TensorInfo;
}

/** Holds the intermediates of one kernel call and frees them together. */
export class Scratch {
  private readonly held: tf.TensorInfo[] = [];
  constructor(readonly backend: BackendWasm) {}

  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    return this.hold(runKernel(this.backend, kernelName, inputs, attrs));
  }

  hold(t: tf.TensorInfo): tf.TensorInfo {
    this.held.push(t);
    return t;
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  /**
   * `t` as a tensor of `shape`: itself when the shapes agree, its leading block when it is larger in every
   * axis (what the cpu backend reads, through t's own strides), and an error when it is smaller.
   */
  conform(t: tf.TensorInfo, shape: number[], what: string): tf.TensorInfo {
    if (tf.util.arraysEqual(t.shape, shape)) return t;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d < shape[i]!))
      throw new Error(`${what} has shape [${t.shape}] where [${shape}] is expected`);
    return this.run(tf.Slice, { x: t }, { begin: shape.map(() => 0), size: shape });
  }

  /** Frees every intermediate except `keep`, which the caller returns. */
  release<T extends tf.TensorInfo | undefined>(keep: T): T {
    for (const t of this.held) if (t !== keep) this.backend.disposeData(t.dataId);
    return keep;
  }
}

/** How many axes a reduction is over, when they are the leading ones (all of them included). */
export function leadingAxes(shape: number[], axis: number | number[]): number | undefined {
  const axes = [...new Set(tf.util.parseAxisParam(axis, shape))].sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.every((a, i) => a === i);
  return leading ? axes.length : undefined;
}

/** Shape of a reduction over the first `count` axes. */
export function reducedShape(shape: number[], count: number, keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (i < count ? 1 : d)) : shape.slice(count);
}

/** Shape without its leading 1s: an operand repeats to fill `shape` when this ends `shape`. */
export function withoutLeadingOnes(shape: number[]): number[] {
  const first = shape.findIndex((d) => d !== 1);
  return first < 0 ? [] : shape.slice(first);
}

/** Whether x, repeated back to back, fills `shape` (a broadcast along leading axes only). */
export function repeatsTo(x: number[], shape: number[]): boolean {
  const inner = withoutLeadingOnes(x);
  return inner.length <= shape.length && tf.util.arraysEqual(inner, shape.slice(shape.length - inner.length));
}

/**
 * The channel count of x [..., C] when x and every per-channel tensor are float32 and the latter are [C];
 * undefined otherwise.
 */
export function channelsOf(x: tf.TensorInfo, ...perChannel: tf.TensorInfo[]): number | undefined {
  const c = x.shape[x.shape.length - 1];
  if (c === undefined || c < 1 || !isFloat32(x, ...perChannel)) return undefined;
  return perChannel.every((t) => t.shape.length === 1 && t.shape[0] === c) ? c : undefined;
}
