/**
 * Kernels that conv-net training needs and @tensorflow/tfjs-backend-wasm 4.22 does not ship. The heavy ones
 * are rewritten as compositions of the backend's own XNNPACK-backed kernels (Conv2D, Transpose, Slice, ...),
 * called through the kernel registry so that data never leaves the wasm heap; the light ones are plain loops
 * over heap views.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '../tf.js';
import { nativeKernels } from './wasm-native.js';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Runs another kernel of the wasm backend in place, as tfjs's own kernels do. */
function run(
  backend: BackendWasm,
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (kernel === undefined) throw new Error(`wasm kernel ${kernelName} is not registered`);
  return kernel.kernelFunc({ inputs, attrs, backend }) as tf.TensorInfo;
}

/** Holds intermediates of one kernel call and frees them together. */
class Scratch {
  private readonly held: tf.TensorInfo[] = [];
  constructor(readonly backend: BackendWasm) {}

  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const out = run(this.backend, kernelName, inputs, attrs);
    this.held.push(out);
    return out;
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  /** Applies signed per-side amounts to H and W of an NHWC tensor: the negative ones crop, the rest are returned as conv pads. */
  cropNegative(
    x: tf.TensorInfo,
    top: number,
    bottom: number,
    left: number,
    right: number,
  ): [tf.TensorInfo, Pad4] {
    const pads: Pad4 = [
      [0, 0],
      [Math.max(top, 0), Math.max(bottom, 0)],
      [Math.max(left, 0), Math.max(right, 0)],
      [0, 0],
    ];
    if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return [x, pads];
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const t = Math.max(-top, 0);
    const l = Math.max(-left, 0);
    const size = [n, h - t - Math.max(-bottom, 0), w - l - Math.max(-right, 0), c];
    return [this.run(tf.Slice, { x }, { begin: [0, t, l, 0], size }), pads];
  }

  /** Frees every intermediate except `keep`, which the caller returns. */
  release(keep: tf.TensorInfo): tf.TensorInfo {
    for (const t of this.held) if (t !== keep) this.backend.disposeData(t.dataId);
    return keep;
  }
}

function wasmBackend(backend: unknown): BackendWasm {
  return backend as BackendWasm;
}

function heapF32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·s+a−top, j·s+b−left, ci] · dy[n,i,j,co] is a stride-1 convolution of x seen
 * as [Cin, H, W, N] with dy seen as a [Ho, Wo, N, Cout] filter dilated by the forward stride.
 */
function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = wasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') throw new Error('wasm Conv2DBackpropFilter supports only NHWC');
  const s = new Scratch(backend);
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } =
    info;
  const { top, left } = info.padInfo;
  const bottom = filterHeight + (outHeight - 1) * strideHeight - inHeight - top;
  const right = filterWidth + (outWidth - 1) * strideWidth - inWidth - left;
  // Rows/columns the forward pass never read are cropped before the (copying) transpose.
  const [xc, pads] = s.cropNegative(x, 0, bottom, 0, right);
  pads[1][0] = top;
  pads[2][0] = left;
  const xt = s.transpose(xc, [3, 1, 2, 0]);
  const dyt = s.transpose(dy, [1, 2, 0, 3]);
  const conv = s.run(
    tf.Conv2D,
    { x: xt, filter: dyt },
    { strides: [1, 1], pad: pads, dilations: [strideHeight, strideWidth], dataFormat: 'NHWC' },
  );
  return s.release(s.transpose(conv, [1, 2, 0, 3]));
}

/**
 * dx is the correlation of dy, dilated by the forward stride, with the filter rotated by 180° and its channel
 * axes swapped, so XNNPACK's Conv2D does the work (the shipped kernel is a scalar loop, ~20× slower).
 */
function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = wasmBackend(args.backend);
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') throw new Error('wasm Conv2DBackpropInput supports only NHWC');
  const s = new Scratch(backend);
  const { batchSize, inHeight, inWidth, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  let dilated = dy;
  if (strideHeight > 1 || strideWidth > 1) {
    // Zeros between dy's pixels: append stride−1 zeros after each one along two unit axes, then merge them.
    const split = s.run(
      tf.Reshape,
      { x: dy },
      { shape: [batchSize, outHeight, 1, outWidth, 1, outChannels] },
    );
    const padded = s.run(
      tf.PadV2,
      { x: split },
      {
        paddings: [
          [0, 0],
          [0, 0],
          [0, strideHeight - 1],
          [0, 0],
          [0, strideWidth - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    dilated = s.run(
      tf.Reshape,
      { x: padded },
      { shape: [batchSize, outHeight * strideHeight, outWidth * strideWidth, outChannels] },
    );
  }
  const top = filterHeight - 1 - info.padInfo.top;
  const left = filterWidth - 1 - info.padInfo.left;
  const bottom = inHeight - (dilated.shape[1] as number) - top + filterHeight - 1;
  const right = inWidth - (dilated.shape[2] as number) - left + filterWidth - 1;
  const [cropped, pads] = s.cropNegative(dilated, top, bottom, left, right);
  const flipped = s.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
  const swapped = s.transpose(flipped, [0, 1, 3, 2]);
  const dx = s.run(
    tf.Conv2D,
    { x: cropped, filter: swapped },
    { strides: [1, 1], pad: pads, dilations: [1, 1], dataFormat: 'NHWC' },
  );
  return s.release(dx);
}

/**
 * Visits every (input pixel, filter tap, output pixel) triple of a depthwise convolution, as flat offsets of
 * the channel vectors in NHWC input, [fh, fw, C·mult] filter and NHWC output. Both gradients are this walk
 * with a different multiply-add; plain loops over heap views suffice, as depthwise convolutions are rare
 * and light in the project's nets.
 */
function forEachDepthwiseTap(
  info: tf.backend_util.Conv2DInfo,
  visit: (xBase: number, wBase: number, dyBase: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < outHeight; i++) {
      for (let a = 0; a < filterHeight; a++) {
        const r = i * strideHeight + a * dilationHeight - top;
        if (r < 0 || r >= inHeight) continue;
        for (let j = 0; j < outWidth; j++) {
          const dyBase = ((b * outHeight + i) * outWidth + j) * outChannels;
          for (let bb = 0; bb < filterWidth; bb++) {
            const c = j * strideWidth + bb * dilationWidth - left;
            if (c < 0 || c >= inWidth) continue;
            visit(
              ((b * inHeight + r) * inWidth + c) * inChannels,
              (a * filterWidth + bb) * outChannels,
              dyBase,
            );
          }
        }
      }
    }
  }
}

function depthwiseInfo(
  xShape: number[],
  filterShape: number[],
  attrs: tf.DepthwiseConv2dNativeBackpropFilterAttrs | tf.DepthwiseConv2dNativeBackpropInputAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

function depthwiseConv2dNativeBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = wasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = depthwiseInfo(x.shape, attrs.filterShape, attrs);
  const mult = info.outChannels / info.inChannels;
  const out = backend.makeOutput(info.filterShape, 'float32');
  const xs = heapF32(backend, x);
  const dys = heapF32(backend, dy);
  const dw = heapF32(backend, out);
  dw.fill(0);
  forEachDepthwiseTap(info, (xBase, wBase, dyBase) => {
    for (let d = 0; d < info.outChannels; d++) {
      dw[wBase + d] =
        (dw[wBase + d] as number) +
        (xs[xBase + Math.floor(d / mult)] as number) * (dys[dyBase + d] as number);
    }
  });
  return out;
}

function depthwiseConv2dNativeBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = wasmBackend(args.backend);
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = depthwiseInfo(attrs.inputShape, filter.shape, attrs);
  const mult = info.outChannels / info.inChannels;
  const out = backend.makeOutput(info.inShape, 'float32');
  const dys = heapF32(backend, dy);
  const ws = heapF32(backend, filter);
  const dx = heapF32(backend, out);
  dx.fill(0);
  forEachDepthwiseTap(info, (xBase, wBase, dyBase) => {
    for (let d = 0; d < info.outChannels; d++) {
      const k = xBase + Math.floor(d / mult);
      dx[k] = (dx[k] as number) + (ws[wBase + d] as number) * (dys[dyBase + d] as number);
    }
  });
  return out;
}

/** Scatter-add over heap views; ids outside [0, numSegments) are dropped, as on the cpu backend. */
function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const backend = wasmBackend(args.backend);
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const rows = tf.util.sizeFromShape(segmentIds.shape);
  const inner = rows === 0 ? 0 : tf.util.sizeFromShape(x.shape) / rows;
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const xs = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const ys = backend.typedArrayFromHeap(out);
  ys.fill(0);
  for (let r = 0; r < rows; r++) {
    const id = ids[r] as number;
    if (id < 0 || id >= numSegments) continue;
    const src = r * inner;
    const dst = id * inner;
    for (let k = 0; k < inner; k++) ys[dst + k] = (ys[dst + k] as number) + (xs[src + k] as number);
  }
  return out;
}

/**
 * Sum and Mean over leading axes (batch statistics and the gradients of broadcast adds in NHWC nets). The
 * shipped kernels first transpose the whole tensor to make those axes innermost. XNNPACK's average pool
 * over the [rows, cols] matrix seen as a rows×1 image of cols channels reads it once, ~6× faster (a matrix
 * product with a column of ones takes tfjs's scalar path for the transposed operand); Sum scales the mean
 * back. Other reductions go to the shipped kernel.
 */
function leadingReduction(kernelName: string, shipped: tf.KernelConfig, mean: boolean): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const backend = wasmBackend(args.backend);
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return shipped.kernelFunc(args) as tf.TensorInfo;
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const cols = tf.util.sizeFromShape(x.shape.slice(axes.length));
    const shape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    if (rows === 0) {
      // XNNPACK rejects an empty pooling window (and the shipped kernels leave the output unwritten); zeros,
      // as on cpu.
      const out = backend.makeOutput(shape, 'float32');
      heapF32(backend, out).fill(0);
      return out;
    }
    const s = new Scratch(backend);
    const image = s.run(tf.Reshape, { x }, { shape: [1, rows, 1, cols] });
    let pooled = s.run(tf.AvgPool, { x: image }, { filterSize: [rows, 1], strides: [rows, 1], pad: 'valid' });
    if (!mean) {
      const count = s.run(tf.Fill, {}, { shape: [], value: rows, dtype: 'float32' });
      pooled = s.run(tf.Multiply, { a: pooled, b: count });
    }
    return s.release(s.run(tf.Reshape, { x: pooled }, { shape }));
  };
  // The shipped setup (binding its C function) must still run when the backend initialises.
  return { kernelName, backendName: 'wasm', kernelFunc, setupFunc: shipped.setupFunc };
}

/**
 * dx of a max pool: dy of each window goes to the window's first maximum (row-major, strict >, padding
 * never a candidate), as on the cpu backend. One pass over x with per-channel running maxima; the shipped
 * kernel walks every dy window covering each dx pixel and is ~5× slower.
 */
function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = wasmBackend(args.backend);
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(input.shape, 'float32');
  const xs = heapF32(backend, input);
  const dys = heapF32(backend, dy);
  const dx = heapF32(backend, out);
  dx.fill(0);
  const best = new Float32Array(channels);
  const at = new Int32Array(channels);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < outHeight; i++) {
      const r0 = i * strideHeight - top;
      for (let j = 0; j < outWidth; j++) {
        const c0 = j * strideWidth - left;
        best.fill(-Infinity);
        at.fill(-1);
        for (let r = Math.max(r0, 0); r < Math.min(r0 + filterHeight, inHeight); r++) {
          for (let c = Math.max(c0, 0); c < Math.min(c0 + filterWidth, inWidth); c++) {
            const base = ((b * inHeight + r) * inWidth + c) * channels;
            for (let d = 0; d < channels; d++) {
              const v = xs[base + d] as number;
              if (v > (best[d] as number)) {
                best[d] = v;
                at[d] = base + d;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + i) * outWidth + j) * channels;
        for (let d = 0; d < channels; d++) {
          const k = at[d] as number;
          if (k >= 0) dx[k] = (dx[k] as number) + (dys[dyBase + d] as number);
        }
      }
    }
  }
  return out;
}

/**
 * Gather as slice copies over heap views (same bounds check as the shipped kernel, which copies element by
 * element through strides and took ~12 ms to pick 120 images of 32×32×3). Strings go to the shipped kernel.
 */
function gatherV2(shipped: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const backend = wasmBackend(args.backend);
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    if (x.dtype === 'string') return shipped.kernelFunc(args) as tf.TensorInfo;
    const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
    const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0] as number;
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, parsedAxis, batchDims);
    const ids = backend.typedArrayFromHeap(indices);
    for (const index of ids) {
      tf.util.assert(
        index >= 0 && index < info.dimSize,
        () => `GatherV2: the index value ${index} is not in [0, ${info.dimSize - 1}]`,
      );
    }
    const out = backend.makeOutput(info.outputShape, x.dtype);
    const xs = backend.typedArrayFromHeap(x);
    const ys = backend.typedArrayFromHeap(out);
    const { batchSize, outerSize, dimSize, sliceSize } = info;
    const perBatch = ids.length / batchSize;
    for (let b = 0; b < batchSize; b++) {
      for (let o = 0; o < outerSize; o++) {
        for (let k = 0; k < perBatch; k++) {
          const src = ((b * outerSize + o) * dimSize + (ids[b * perBatch + k] as number)) * sliceSize;
          ys.set(xs.subarray(src, src + sliceSize), ((b * outerSize + o) * perBatch + k) * sliceSize);
        }
      }
    }
    return out;
  };
  return { kernelName: tf.GatherV2, backendName: 'wasm', kernelFunc, setupFunc: shipped.setupFunc };
}

/** Outputs below this size keep the shipped broadcast: the copy would cost more than it saves. */
const MIN_EXPANDED_SIZE = 4096;

/** A new tensor of `shape` holding x's values repeated back to back (x repeating along leading axes). */
function repeatToShape(backend: BackendWasm, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  const out = backend.makeOutput(shape, x.dtype);
  const values = backend.typedArrayFromHeap(out);
  const size = tf.util.sizeFromShape(shape);
  values.set(backend.typedArrayFromHeap(x));
  // Doubling copies: log2(repeats) block copies instead of one per repeat or per element.
  for (let filled = tf.util.sizeFromShape(x.shape); filled < size; filled *= 2)
    values.copyWithin(filled, 0, Math.min(filled, size - filled));
  return out;
}

/**
 * Tile along leading axes only (what broadcastTo asks for, e.g. [1,1,1,C] to [N,H,W,C], in the Sum and
 * Mean gradients): the shipped kernel computes every element's source index through strides, ~400× slower
 * than repeating x's block. Other tilings go to the shipped kernel.
 */
function leadingTile(shipped: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { reps } = args.attrs as unknown as tf.TileAttrs;
    const firstKept = x.shape.findIndex((d) => d !== 1);
    const leadingOnly = firstKept >= 0 && reps.slice(firstKept).every((r) => r === 1);
    if (!leadingOnly || x.dtype === 'string') return shipped.kernelFunc(args) as tf.TensorInfo;
    return repeatToShape(
      wasmBackend(args.backend),
      x,
      x.shape.map((d, i) => d * reps[i]!),
    );
  };
  return { kernelName: tf.Tile, backendName: 'wasm', kernelFunc, setupFunc: shipped.setupFunc };
}

/**
 * Element-wise binary ops where one operand repeats along leading axes (a per-channel [C] or [1,1,1,C]
 * against [N,H,W,C]). The shipped kernels take a scalar broadcast loop there, ~5× slower than on equal
 * shapes; repeating the small operand to the full shape with doubling copies and calling the shipped kernel
 * on equal shapes gives the same values, 3–4× faster. Scalars keep the shipped kernels' own fast path.
 */
function repeatedBroadcast(kernelName: string, shipped: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const backend = wasmBackend(args.backend);
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = tf.util.sizeFromShape(shape);
    const repeats = (t: tf.TensorInfo) => {
      const inner = t.shape.slice(t.shape.findIndex((d) => d !== 1));
      return (
        t.dtype !== 'string' &&
        tf.util.sizeFromShape(t.shape) > 1 &&
        tf.util.arraysEqual(inner, shape.slice(shape.length - inner.length))
      );
    };
    const full = (t: tf.TensorInfo) => tf.util.arraysEqual(t.shape, shape);
    const small = full(a) && repeats(b) ? b : full(b) && repeats(a) ? a : undefined;
    if (small === undefined || size < MIN_EXPANDED_SIZE || full(small)) {
      return shipped.kernelFunc(args) as tf.TensorInfo;
    }
    const expanded = repeatToShape(backend, small, shape);
    const inputs = small === a ? { a: expanded, b } : { a, b: expanded };
    const out = shipped.kernelFunc({ ...args, inputs }) as tf.TensorInfo;
    backend.disposeData(expanded.dataId);
    return out;
  };
  return { kernelName, backendName: 'wasm', kernelFunc, setupFunc: shipped.setupFunc };
}

/**
 * Identity, and Cast to x's own dtype, share x's data as on the cpu backend (the engine counts references;
 * no wasm kernel writes into its inputs). The shipped kernels copy the whole tensor.
 */
function sharedData(kernelName: string, shipped: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    // Identity is called without attributes.
    const dtype = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype ?? x.dtype;
    if (x.dtype === 'string' || dtype !== x.dtype) return shipped.kernelFunc(args) as tf.TensorInfo;
    wasmBackend(args.backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype };
  };
  return { kernelName, backendName: 'wasm', kernelFunc, setupFunc: shipped.setupFunc };
}

/**
 * Unbatched products with a transposed operand: the shipped kernel hands those to a scalar loop (~20× slower
 * than XNNPACK for [120,512]ᵀ·[120,32]); an explicit XNNPACK Transpose first keeps them on XNNPACK's GEMM.
 */
function batchMatMul(shipped: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const backend = wasmBackend(args.backend);
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const unbatched = (t: tf.TensorInfo) => t.shape.slice(0, -2).every((d) => d === 1);
    if ((!transposeA && !transposeB) || !unbatched(a) || !unbatched(b)) {
      return shipped.kernelFunc(args) as tf.TensorInfo;
    }
    const s = new Scratch(backend);
    const upright = (t: tf.TensorInfo, transposed: boolean) => {
      if (!transposed) return t;
      const perm = t.shape.map((_, i) => i);
      perm.splice(-2, 2, t.shape.length - 1, t.shape.length - 2);
      return s.transpose(t, perm);
    };
    const inputs = { a: upright(a, transposeA), b: upright(b, transposeB) };
    return s.release(s.run(tf.BatchMatMul, inputs, { transposeA: false, transposeB: false }));
  };
  return { kernelName: tf.BatchMatMul, backendName: 'wasm', kernelFunc, setupFunc: shipped.setupFunc };
}

/**
 * The convolution gradients built on XNNPACK, used when the native pack is absent; exported so that tests
 * check them even where the pack is built.
 */
export const xnnpackConvGradients: Readonly<Record<string, tf.KernelFunc>> = {
  [tf.Conv2DBackpropFilter]: conv2DBackpropFilter,
  [tf.Conv2DBackpropInput]: conv2DBackpropInput,
};

/** Kernels the wasm backend lacks. */
const missing: readonly tf.KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
  {
    kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
    backendName: 'wasm',
    kernelFunc: depthwiseConv2dNativeBackpropFilter,
  },
  {
    kernelName: tf.DepthwiseConv2dNativeBackpropInput,
    backendName: 'wasm',
    kernelFunc: depthwiseConv2dNativeBackpropInput,
  },
  { kernelName: tf.UnsortedSegmentSum, backendName: 'wasm', kernelFunc: unsortedSegmentSum },
];

/** Kernels the wasm backend ships in a form too slow to train with; some delegate cases to the shipped one. */
const replacements: Record<string, (shipped: tf.KernelConfig) => tf.KernelConfig> = {
  [tf.Conv2DBackpropInput]: () => ({
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    kernelFunc: conv2DBackpropInput,
  }),
  [tf.Sum]: (shipped) => leadingReduction(tf.Sum, shipped, false),
  [tf.Mean]: (shipped) => leadingReduction(tf.Mean, shipped, true),
  [tf.MaxPoolGrad]: () => ({ kernelName: tf.MaxPoolGrad, backendName: 'wasm', kernelFunc: maxPoolGrad }),
  [tf.GatherV2]: (shipped) => gatherV2(shipped),
  [tf.BatchMatMul]: (shipped) => batchMatMul(shipped),
  [tf.Add]: (shipped) => repeatedBroadcast(tf.Add, shipped),
  [tf.Sub]: (shipped) => repeatedBroadcast(tf.Sub, shipped),
  [tf.Multiply]: (shipped) => repeatedBroadcast(tf.Multiply, shipped),
  [tf.RealDiv]: (shipped) => repeatedBroadcast(tf.RealDiv, shipped),
  [tf.Tile]: (shipped) => leadingTile(shipped),
  [tf.Identity]: (shipped) => sharedData(tf.Identity, shipped),
  [tf.Cast]: (shipped) => sharedData(tf.Cast, shipped),
};

/** What this module registered, by kernel name, so that a second call recognises its own kernels. */
const installed = new Map<string, tf.KernelConfig>();

/** The kernels the native pack displaced; it hands them the cases it does not cover. */
const displacedByNative = new Map<string, tf.KernelConfig>();

function install(config: tf.KernelConfig): void {
  // Unregistering first avoids tfjs's "already registered" warning.
  if (tf.getKernel(config.kernelName, 'wasm') !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
  installed.set(config.kernelName, config);
}

/**
 * Registers the training kernels for the `wasm` backend, and the native pack's convolutions over them when
 * it is built. Call after importing @tensorflow/tfjs-backend-wasm and before `tf.setBackend('wasm')`.
 * Idempotent. A missing kernel that some other source registered first is left alone. Returns the names of
 * the kernels now registered from this module.
 */
export function registerWasmTrainingKernels(): string[] {
  const ours = (name: string) => {
    const current = tf.getKernel(name, 'wasm');
    return current !== undefined && current.kernelFunc === installed.get(name)?.kernelFunc;
  };
  for (const config of missing) {
    if (tf.getKernel(config.kernelName, 'wasm') === undefined) install(config);
  }
  for (const [name, replace] of Object.entries(replacements)) {
    const shipped = tf.getKernel(name, 'wasm');
    if (shipped !== undefined && !ours(name)) install(replace(shipped));
  }
  if (displacedByNative.size === 0) {
    for (const name of [tf.Conv2D, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter]) {
      const current = tf.getKernel(name, 'wasm');
      if (current !== undefined) displacedByNative.set(name, current);
    }
    nativeKernels((name) => displacedByNative.get(name)).forEach(install);
  }
  return [...installed.keys()].filter(ours);
}
