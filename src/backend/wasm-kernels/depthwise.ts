/**
 * The walk both depthwise-convolution gradients make: plain loops over heap views suffice, as depthwise
 * convolutions are rare and light in the project's nets.
 */
import type * as tf from '../../tf.js';
import { convGeometry } from './convolution.js';

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
