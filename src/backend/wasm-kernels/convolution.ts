/**
 * What the three convolution kernels (Conv2D and its two gradients) share: their geometry, checked against
 * the tensors they are given, and the call into the native pack, which runs each as one oneDNN primitive.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '../../tf.js';
import { convolutionThreads, heapOf, offsetOf, type NativePack } from '../wasm-native.js';
import {
  backendOf,
  emptySum,
  isFloat32,
  isRank,
  Scratch,
  type KernelArgs,
  type WasmKernel,
} from './kernel.js';

export type Shape4 = [number, number, number, number];

export interface ConvAttrs {
  strides: number | [number, number];
  pad: tf.Conv2DAttrs['pad'];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: tf.Conv2DAttrs['dimRoundingMode'];
  dilations?: number | [number, number];
}

/**
 * The geometry of an NHWC convolution of an input of `xShape` with a filter of `filterShape`, or undefined
 * when these cannot be one (ranks, channels) or the layout is NCHW: the cases the project's kernels leave
 * to the shipped ones.
 */
export function convGeometry(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  depthwise = false,
): tf.backend_util.Conv2DInfo | undefined {
  if (!isRank(4, xShape, filterShape) || xShape[3] !== filterShape[2]) return undefined;
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined;
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
}

export const FORWARD = 0;
export const BACKWARD_DATA = 1;
export const BACKWARD_WEIGHTS = 2;

/**
 * Runs one pass of the convolution `info` in the pack: forward reads src and weights and writes dst;
 * backward data reads dst (dy) and weights and writes src (dx); backward weights reads src (x) and dst (dy)
 * and writes weights (dW). The operands' shapes must be `info`'s (the callers conform them first).
 */
export function nativeConvolution(
  pack: NativePack,
  op: number,
  backend: BackendWasm,
  info: tf.backend_util.Conv2DInfo,
  [src, weights, dst]: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo],
): void {
  const written = op === FORWARD ? dst : op === BACKWARD_DATA ? src : weights;
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  pack.conv(op, heapOf(backend, written), at(src), at(weights), at(dst), nativeParams(info));
}

/** The forward pass with a per-channel bias added and ReLU applied (`relu`) in the same pass. */
export function nativeFusedConvolution(
  pack: NativePack,
  backend: BackendWasm,
  info: tf.backend_util.Conv2DInfo,
  [x, filter, bias, out]: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo],
  relu: boolean,
): void {
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  pack.fusedConv(
    heapOf(backend, out),
    at(x),
    at(filter),
    at(bias),
    at(out),
    nativeParams(info),
    relu ? 1 : 0,
  );
}

/** The geometry as the pack takes it (native/src/convolution.h), with the threads its size calls for. */
function nativeParams(info: tf.backend_util.Conv2DInfo): Int32Array {
  const { top, left, bottom, right } = info.padInfo;
  const multiplyAdds =
    info.batchSize *
    info.outHeight *
    info.outWidth *
    info.outChannels *
    info.filterHeight *
    info.filterWidth *
    info.inChannels;
  return Int32Array.of(
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
    convolutionThreads(multiplyAdds),
  );
}

/**
 * Whether oneDNN takes the geometry: its output size must follow from the input, filter, strides and pads
 * by floor division (tfjs's `ceil` and `round` rounding of explicit pads can give another).
 */
export function nativeGeometry(info: tf.backend_util.Conv2DInfo): boolean {
  const out = (size: number, pads: number, filter: number, dilation: number, stride: number) =>
    Math.floor((size + pads - ((filter - 1) * dilation + 1)) / stride) + 1;
  const { top, left, bottom, right } = info.padInfo;
  return (
    Math.min(top, left, bottom, right) >= 0 &&
    out(info.inHeight, top + bottom, info.filterHeight, info.dilationHeight, info.strideHeight) ===
      info.outHeight &&
    out(info.inWidth, left + right, info.filterWidth, info.dilationWidth, info.strideWidth) === info.outWidth
  );
}

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Applies signed per-side amounts to H and W of an NHWC tensor: the negative ones crop, the rest are returned as conv pads. */
export function cropNegative(
  s: Scratch,
  x: tf.TensorInfo,
  top: number,
  bottom: number,
  left: number,
  right: number,
): [tf.TensorInfo, Pad4] {
  const positive = (v: number) => Math.max(v, 0);
  const pads: Pad4 = [
    [0, 0],
    [positive(top), positive(bottom)],
    [positive(left), positive(right)],
    [0, 0],
  ];
  if (Math.min(top, bottom, left, right) >= 0) return [x, pads];
  const [n, h, w, c] = x.shape as Shape4;
  const t = positive(-top);
  const l = positive(-left);
  const size = [n, h - t - positive(-bottom), w - l - positive(-right), c];
  return [s.run(tf.Slice, { x }, { begin: [0, t, l, 0], size }), pads];
}

/** How one convolution gradient (Conv2DBackpropInput, Conv2DBackpropFilter) differs from the other. */
export interface GradientSpec {
  kernelName: string;
  /** The pack's pass. */
  pass: number;
  /** The geometry, and the input other than dy (the filter, or x), from the call; undefined to decline. */
  geometry(args: KernelArgs): { info: tf.backend_util.Conv2DInfo; other: tf.TensorInfo } | undefined;
  /** The output's shape. */
  outShape(info: tf.backend_util.Conv2DInfo): number[];
  /** The pack's (src, weights, dst) operands. */
  operands(
    other: tf.TensorInfo,
    dy: tf.TensorInfo,
    out: tf.TensorInfo,
  ): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  /** The same gradient composed of the wasm backend's XNNPACK kernels. */
  xnnpack(
    s: Scratch,
    info: tf.backend_util.Conv2DInfo,
    other: tf.TensorInfo,
    dy: tf.TensorInfo,
  ): tf.TensorInfo;
}

/**
 * A convolution gradient: the native pass in the pack, the XNNPACK composition otherwise. Both take dy
 * conformed to the geometry (a larger dy is read through its leading block, as on the cpu backend), and an
 * empty input gives zeros.
 */
export function convolutionGradient(spec: GradientSpec): WasmKernel {
  const prepare = (args: KernelArgs, s: Scratch) => {
    const dy = args.inputs['dy'];
    const g = spec.geometry(args);
    if (g === undefined || dy === undefined || !isRank(4, dy) || !isFloat32(dy, g.other)) return undefined;
    const empty = emptySum(s.backend, spec.outShape(g.info), [dy, g.other]);
    const conformed = empty ? dy : s.conform(dy, g.info.outShape, `${spec.kernelName}: dy`);
    return { ...g, dy: conformed, empty };
  };
  return {
    kernelName: spec.kernelName,
    native(args, pack) {
      const s = new Scratch(backendOf(args));
      const p = prepare(args, s);
      if (p === undefined || !nativeGeometry(p.info)) return s.release(undefined);
      if (p.empty) return s.release(p.empty);
      const out = s.backend.makeOutput(spec.outShape(p.info), 'float32');
      nativeConvolution(pack, spec.pass, s.backend, p.info, spec.operands(p.other, p.dy, out));
      return s.release(out);
    },
    wasm(args) {
      const s = new Scratch(backendOf(args));
      const p = prepare(args, s);
      if (p === undefined) return s.release(undefined);
      return s.release(p.empty ?? spec.xnnpack(s, p.info, p.other, p.dy));
    },
  };
}
