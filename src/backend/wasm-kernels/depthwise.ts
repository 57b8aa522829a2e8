/**
 * The walk both depthwise-convolution gradients make: plain loops over heap views suffice, as depthwise
 * convolutions are rare and light in the project's nets.
 */
import type * as tf from '../../tf.js';
import { convGeometry } from './convolution.js';
import {
  backendOf,
  emptySum,
  heapF32,
  isFloat32,
  isRank,
  Scratch,
  type KernelArgs,
  type WasmKernel,
} from './kernel.js';

type DepthwiseAttrs =
  tf.DepthwiseConv2dNativeBackpropFilterAttrs | tf.DepthwiseConv2dNativeBackpropInputAttrs;

/** The geometry of an NHWC depthwise convolution, or undefined for what it cannot be (ranks, channels, NCHW). */
export function depthwiseGeometry(
  xShape: number[],
  filterShape: number[],
  attrs: DepthwiseAttrs,
): tf.backend_util.Conv2DInfo | undefined {
  return convGeometry(xShape, filterShape, { ...attrs, dataFormat: 'NHWC' }, true);
}

/**
 * Visits every (input pixel, filter tap, output pixel) triple of a depthwise convolution, as flat offsets of
 * the channel vectors in NHWC input, [fh, fw, C·mult] filter and NHWC output. Both gradients are this walk
 * with a different multiply-add.
 */
export function forEachDepthwiseTap(
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

/** How one depthwise gradient differs from the other. */
export interface DepthwiseGradientSpec {
  kernelName: string;
  /** The geometry, and the input other than dy (x, or the filter), from the call; undefined to decline. */
  geometry(args: KernelArgs): { info: tf.backend_util.Conv2DInfo; other: tf.TensorInfo } | undefined;
  outShape(info: tf.backend_util.Conv2DInfo): number[];
  /**
   * Adds one tap's products into `out`, over the output channels d < channels: x's channel vector is at
   * xBase, the filter's at wBase, dy's at dyBase; output channel d reads input channel ⌊d / mult⌋.
   */
  accumulate(
    out: Float32Array,
    other: Float32Array,
    dy: Float32Array,
    bases: [number, number, number],
    channels: number,
    mult: number,
  ): void;
}

/** A depthwise-convolution gradient as one walk over heap views; dy conformed to the geometry first. */
export function depthwiseGradient(spec: DepthwiseGradientSpec): WasmKernel {
  return {
    kernelName: spec.kernelName,
    wasm(args) {
      const g = spec.geometry(args);
      const dyIn = args.inputs['dy'];
      if (g === undefined || dyIn === undefined || !isRank(4, dyIn) || !isFloat32(g.other, dyIn))
        return undefined;
      const { info, other } = g;
      const backend = backendOf(args);
      const empty = emptySum(backend, spec.outShape(info), [other, dyIn]);
      if (empty) return empty;
      const s = new Scratch(backend);
      const dy = s.conform(dyIn, info.outShape, `${spec.kernelName}: dy`);
      const out = backend.makeOutput(spec.outShape(info), 'float32');
      const [outs, others, dys] = [out, other, dy].map((t) => heapF32(backend, t)) as [
        Float32Array,
        Float32Array,
        Float32Array,
      ];
      outs.fill(0);
      const mult = info.outChannels / info.inChannels;
      forEachDepthwiseTap(info, (xBase, wBase, dyBase) =>
        spec.accumulate(outs, others, dys, [xBase, wBase, dyBase], info.outChannels, mult),
      );
      return s.release(out);
    },
  };
}
