/**
 * The optional native kernel pack (native/, an N-API addon over oneDNN): Conv2D and its two gradients, and
 * MaxPool, MaxPoolGrad, Relu/Step/Square, float32 Add/Sub/Multiply/RealDiv with a trailing-shape broadcast,
 * leading-axis Tile and Sum/Mean, on all cores for large tensors, computed in place on the wasm backend's
 * heap so that every other op stays in wasm. Absent unless built (`sh native/build.sh`, which npm install
 * does not run; see docs/performance.md), and switched off by MTLZOO_NATIVE=0.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '../tf.js';
import { loadNativeAddon } from '../util/native-addon.js';

interface NativePack {
  /** op 0: forward (src, weights → dst); 1: backward data (dst, weights → src); 2: backward weights. */
  conv(op: number, heap: ArrayBuffer, src: number, weights: number, dst: number, params: Int32Array): void;
  /** Sizes: n, h, w, c, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft. */
  maxPool(heap: ArrayBuffer, x: number, y: number, ...sizes: number[]): void;
  maxPoolGrad(heap: ArrayBuffer, x: number, dy: number, dx: number, ...sizes: number[]): void;
  /** op 0: Relu, 1: Step (alpha where x ≤ 0), 2: Square. */
  unary(op: number, heap: ArrayBuffer, x: number, out: number, size: number, alpha: number): void;
  /** out[i] = op(full[i], small[i % period]), or op(small[…], full[i]) when smallFirst is 1. */
  binary(
    op: number,
    heap: ArrayBuffer,
    full: number,
    small: number,
    out: number,
    size: number,
    period: number,
    smallFirst: number,
  ): void;
  /** out[i] = x[i % period]. */
  repeat(heap: ArrayBuffer, x: number, out: number, size: number, period: number): void;
  /** out[c] = Σ_r x[r, c] / divisor over a [rows, cols] view of x. */
  sumRows(heap: ArrayBuffer, x: number, out: number, rows: number, cols: number, divisor: number): void;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Below this many multiply-adds (per pass) waking oneDNN's other threads can cost more than they save (up
 * to ~10 ms when the other core is busy), so the convolution runs on the calling thread; on one thread
 * oneDNN still beats XNNPACK by 2–10× from 3e5 multiply-adds up (docs/performance.md).
 */
export const NATIVE_MIN_MACS = 1e8;
let minMultiplyAdds = NATIVE_MIN_MACS;

/** Sets the size below which convolutions run on one thread (tests set 0 or Infinity); returns the old one. */
export function setNativeThreshold(multiplyAdds: number): number {
  const previous = minMultiplyAdds;
  minMultiplyAdds = multiplyAdds;
  return previous;
}

/**
 * Below this many elements the pooling, element-wise, Tile and reduction kernels stay in wasm, where the
 * call costs less (the pack itself uses one thread below 2^18 elements; docs/performance.md).
 */
export const NATIVE_MIN_ELEMENTS = 4096;
let minElements = NATIVE_MIN_ELEMENTS;

/** Sets the size below which the non-convolution kernels stay in wasm; returns the old one. */
export function setNativeElementThreshold(elements: number): number {
  const previous = minElements;
  minElements = elements;
  return previous;
}

/** Whether a non-convolution kernel leaves this many elements to wasm; empty tensors always (nothing to gain). */
function fewElements(size: number): boolean {
  return size === 0 || size < minElements;
}

function multiplyAdds(info: tf.backend_util.Conv2DInfo): number {
  return (
    info.batchSize *
    info.outHeight *
    info.outWidth *
    info.outChannels *
    info.filterHeight *
    info.filterWidth *
    info.inChannels
  );
}

/** Cases the pack leaves to the wasm kernels: NCHW layouts. */
function leaveToWasm(info: tf.backend_util.Conv2DInfo): boolean {
  return info.dataFormat !== 'channelsLast';
}

const FORWARD = 0;
const BACKWARD_DATA = 1;
const BACKWARD_WEIGHTS = 2;

let loaded: { pack: NativePack } | { reason: string } | undefined;

function load(): { pack: NativePack } | { reason: string } {
  if (!loaded) {
    const state = loadNativeAddon<NativePack>('mtlzoo_native.node');
    loaded = 'addon' in state ? { pack: state.addon } : state;
  }
  return loaded;
}

/** Why the native pack is not in use, or undefined when it is available. */
export function nativePackUnavailableReason(): string | undefined {
  const state = load();
  return 'reason' in state ? state.reason : undefined;
}

const offsetOf = (backend: BackendWasm, t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
// Taken only after the output is allocated: allocating may have grown (and replaced) the heap.
const heapOf = (backend: BackendWasm, out: tf.TensorInfo) =>
  backend.typedArrayFromHeap(out).buffer as ArrayBuffer;

function run(
  pack: NativePack,
  op: number,
  backend: BackendWasm,
  [src, weights, dst]: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo],
  info: tf.backend_util.Conv2DInfo,
): void {
  const { top, left, bottom, right } = info.padInfo;
  const threads = multiplyAdds(info) < minMultiplyAdds ? 1 : 0;
  const params = Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    top,
    left,
    bottom,
    right,
    threads,
  );
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  pack.conv(op, heapOf(backend, dst), at(src), at(weights), at(dst), params);
}

function conv2DInfo(
  xShape: number[],
  filterShape: number[],
  attrs: {
    strides: number | [number, number];
    pad: unknown;
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: unknown;
  },
  dilations: number | [number, number] = 1,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'),
  );
}

/** The kernel registered now, wrapped so that cases `native` declines (returns undefined) go to it. */
function over(
  kernelName: string,
  native: (args: KernelArgs, backend: BackendWasm) => tf.TensorInfo | undefined,
): tf.KernelConfig[] {
  const previous = tf.getKernel(kernelName, 'wasm');
  if (previous === undefined) return [];
  const kernelFunc = (args: KernelArgs) =>
    native(args, args.backend as BackendWasm) ?? (previous.kernelFunc(args) as tf.TensorInfo);
  return [{ kernelName, backendName: 'wasm', kernelFunc, setupFunc: previous.setupFunc }];
}

/** Shape without its leading 1s: an operand broadcasts by repetition when this ends the output shape. */
function withoutLeadingOnes(shape: number[]): number[] {
  const first = shape.findIndex((d) => d !== 1);
  return first < 0 ? [] : shape.slice(first);
}

const BINARY_OPS: Readonly<Record<string, number>> = {
  [tf.Add]: 0,
  [tf.Sub]: 1,
  [tf.Multiply]: 2,
  [tf.RealDiv]: 3,
};

function binaryKernel(pack: NativePack, kernelName: string): tf.KernelConfig[] {
  const op = BINARY_OPS[kernelName]!;
  return over(kernelName, (args, backend) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = tf.util.sizeFromShape(shape);
    if (fewElements(size)) return undefined;
    const repeats = (t: tf.TensorInfo) => {
      const inner = withoutLeadingOnes(t.shape);
      return tf.util.arraysEqual(inner, shape.slice(shape.length - inner.length));
    };
    const full = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape) === size;
    const small = full(a) && repeats(b) ? b : full(b) && repeats(a) ? a : undefined;
    if (small === undefined) return undefined;
    const big = small === a ? b : a;
    const out = backend.makeOutput(shape, 'float32');
    const period = tf.util.sizeFromShape(small.shape);
    const [fullAt, smallAt, outAt] = [big, small, out].map((t) => offsetOf(backend, t)) as [
      number,
      number,
      number,
    ];
    pack.binary(op, heapOf(backend, out), fullAt, smallAt, outAt, size, period, small === a ? 1 : 0);
    return out;
  });
}

/**
 * Tile of float32 repeating x along leading axes only (what broadcastTo asks for, e.g. [1,1,1,C] to
 * [N,H,W,C]); the shipped kernel computes every element's source index through strides.
 */
function tileKernel(pack: NativePack): tf.KernelConfig[] {
  return over(tf.Tile, (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { reps } = args.attrs as unknown as tf.TileAttrs;
    const shape = x.shape.map((d, i) => d * (reps[i] as number));
    const size = tf.util.sizeFromShape(shape);
    const firstKept = x.shape.length - withoutLeadingOnes(x.shape).length;
    if (x.dtype !== 'float32' || fewElements(size) || reps.slice(firstKept).some((r) => r !== 1))
      return undefined;
    const out = backend.makeOutput(shape, 'float32');
    const period = tf.util.sizeFromShape(x.shape);
    pack.repeat(heapOf(backend, out), offsetOf(backend, x), offsetOf(backend, out), size, period);
    return out;
  });
}

/** Sum and Mean of float32 over leading axes (batch statistics): a column sum of a [rows, cols] view. */
function leadingSumKernel(pack: NativePack, kernelName: string, mean: boolean): tf.KernelConfig[] {
  return over(kernelName, (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const size = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || fewElements(size)) return undefined;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    if (axes.length === 0 || !axes.every((a, i) => a === i)) return undefined;
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const shape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    const out = backend.makeOutput(shape, 'float32');
    const cols = tf.util.sizeFromShape(x.shape.slice(axes.length));
    pack.sumRows(
      heapOf(backend, out),
      offsetOf(backend, x),
      offsetOf(backend, out),
      rows,
      cols,
      mean ? rows : 1,
    );
    return out;
  });
}

/** The sizes the pooling loops take, or undefined for what they do not cover (small, non-float32). */
function poolSizes(
  x: tf.TensorInfo,
  attrs: Pick<tf.MaxPoolAttrs, 'filterSize' | 'strides' | 'pad' | 'dimRoundingMode'>,
): number[] | undefined {
  if (x.dtype !== 'float32' || fewElements(tf.util.sizeFromShape(x.shape))) return undefined;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

function maxPoolKernels(pack: NativePack): tf.KernelConfig[] {
  const forward = over(tf.MaxPool, (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const sizes = poolSizes(x, args.attrs as unknown as tf.MaxPoolAttrs);
    if (sizes === undefined) return undefined;
    const [n, , , c, outHeight, outWidth] = sizes as [number, number, number, number, number, number];
    const out = backend.makeOutput([n, outHeight, outWidth, c], 'float32');
    pack.maxPool(heapOf(backend, out), offsetOf(backend, x), offsetOf(backend, out), ...sizes);
    return out;
  });
  const gradient = over(tf.MaxPoolGrad, (args, backend) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const sizes = poolSizes(input, args.attrs as unknown as tf.MaxPoolGradAttrs);
    if (sizes === undefined) return undefined;
    const out = backend.makeOutput(input.shape, 'float32');
    const [xAt, dyAt, outAt] = [input, dy, out].map((t) => offsetOf(backend, t)) as [number, number, number];
    pack.maxPoolGrad(heapOf(backend, out), xAt, dyAt, outAt, ...sizes);
    return out;
  });
  return [...forward, ...gradient];
}

const UNARY_OPS: Readonly<Record<string, number>> = { [tf.Relu]: 0, [tf.Step]: 1, [tf.Square]: 2 };

function unaryKernel(pack: NativePack, kernelName: string): tf.KernelConfig[] {
  const op = UNARY_OPS[kernelName]!;
  return over(kernelName, (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const size = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || fewElements(size)) return undefined;
    const alpha = (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
    const out = backend.makeOutput(x.shape, 'float32');
    pack.unary(op, heapOf(backend, out), offsetOf(backend, x), offsetOf(backend, out), size, alpha);
    return out;
  });
}

/**
 * The native kernels for the wasm backend, or an empty list when the pack is unavailable: Conv2D,
 * Conv2DBackpropInput and Conv2DBackpropFilter, whose NCHW cases go to `fallback(kernelName)`, and the
 * pooling, element-wise and reduction kernels, whose small or uncovered cases go to the kernel registered
 * under the same name when this is called.
 */
export function nativeKernels(
  fallback: (kernelName: string) => tf.KernelConfig | undefined,
): tf.KernelConfig[] {
  const state = load();
  if (!('pack' in state)) return [];
  const { pack } = state;
  const delegate = (kernelName: string, args: KernelArgs) => {
    const other = fallback(kernelName);
    if (!other) throw new Error(`no wasm ${kernelName} kernel for this case`);
    return other.kernelFunc(args) as tf.TensorInfo;
  };
  type Operands = Record<string, tf.TensorInfo>;
  /**
   * One row per convolution kernel: its oneDNN op, its geometry, the tensor it writes, and the pack's
   * (src, weights, dst) operands, where the kernel's output takes the place oneDNN writes.
   */
  const convolutions: {
    kernelName: string;
    op: number;
    info(inputs: Operands, attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo;
    outShape(info: tf.backend_util.Conv2DInfo): number[];
    operands(inputs: Operands, out: tf.TensorInfo): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  }[] = [
    {
      kernelName: tf.Conv2D,
      op: FORWARD,
      info: ({ x, filter }, attrs) =>
        conv2DInfo(
          x!.shape,
          filter!.shape,
          attrs as unknown as tf.Conv2DAttrs,
          (attrs as unknown as tf.Conv2DAttrs).dilations,
        ),
      outShape: (info) => info.outShape,
      operands: ({ x, filter }, out) => [x!, filter!, out],
    },
    {
      kernelName: tf.Conv2DBackpropInput,
      op: BACKWARD_DATA,
      info: ({ filter }, attrs) => {
        const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
        return conv2DInfo(a.inputShape, filter!.shape, a);
      },
      outShape: (info) => info.inShape,
      operands: ({ dy, filter }, out) => [out, filter!, dy!],
    },
    {
      kernelName: tf.Conv2DBackpropFilter,
      op: BACKWARD_WEIGHTS,
      info: ({ x }, attrs) => {
        const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
        return conv2DInfo(x!.shape, a.filterShape, a);
      },
      outShape: (info) => info.filterShape,
      operands: ({ x, dy }, out) => [x!, out, dy!],
    },
  ];
  const convolutionKernels = convolutions.map((row): tf.KernelConfig => ({
    kernelName: row.kernelName,
    backendName: 'wasm',
    kernelFunc: (args: KernelArgs): tf.TensorInfo => {
      const backend = args.backend as BackendWasm;
      const inputs = args.inputs as Operands;
      const info = row.info(inputs, args.attrs as tf.NamedAttrMap);
      if (leaveToWasm(info)) return delegate(row.kernelName, args);
      const out = backend.makeOutput(row.outShape(info), 'float32');
      run(pack, row.op, backend, row.operands(inputs, out), info);
      return out;
    },
    // Conv2D's setup (XNNPACK operator caching) must still run for the cases handed back to wasm.
    setupFunc: fallback(row.kernelName)?.setupFunc,
  }));
  return [
    ...convolutionKernels,
    ...maxPoolKernels(pack),
    ...Object.keys(UNARY_OPS).flatMap((name) => unaryKernel(pack, name)),
    ...Object.keys(BINARY_OPS).flatMap((name) => binaryKernel(pack, name)),
    ...tileKernel(pack),
    ...leadingSumKernel(pack, tf.Sum, false),
    ...leadingSumKernel(pack, tf.Mean, true),
  ];
}
