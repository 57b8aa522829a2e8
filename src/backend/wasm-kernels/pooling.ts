/** The geometry both max-pooling kernels share, checked against the tensor they are given. */
import * as tf from '../../tf.js';
import { isRank } from './kernel.js';

export type PoolAttrs = Pick<tf.MaxPoolAttrs, 'filterSize' | 'strides' | 'pad' | 'dimRoundingMode'>;

/** The pooling geometry of a rank-4 float32 x, or undefined for other inputs. */
export function poolGeometry(x: tf.TensorInfo, attrs: PoolAttrs): tf.backend_util.Conv2DInfo | undefined {
  if (!isRank(4, x) || x.dtype !== 'float32') return undefined;
  return tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** A 1×1 window over an output the input's size: the cpu backend returns x itself, padding or not. */
export function isIdentityPool(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 1 && info.filterWidth === 1 && tf.util.arraysEqual(info.inShape, info.outShape)
  );
}

/** Whether some window lies wholly in the padding (XNNPACK then writes no value; the cpu backend −∞). */
export function hasEmptyWindow(info: tf.backend_util.Conv2DInfo): boolean {
  const empty = (out: number, stride: number, pad: number, filter: number, size: number) => {
    for (let i = 0; i < out; i++) {
      const start = i * stride - pad;
      if (start + filter <= 0 || start >= size) return true;
    }
    return false;
  };
  return (
    empty(info.outHeight, info.strideHeight, info.padInfo.top, info.filterHeight, info.inHeight) ||
    empty(info.outWidth, info.strideWidth, info.padInfo.left, info.filterWidth, info.inWidth)
  );
}

/** The sizes the pack's pooling entry points take. */
export function poolSizes(info: tf.backend_util.Conv2DInfo): number[] {
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

/**
 * Calls `visit(window, at)` for every output pixel, with `at(r, c)` the flat offset of x's channel vector at
 * input row r and column c, for the rows and columns of the window inside x.
 */
export function forEachWindow(
  info: tf.backend_util.Conv2DInfo,
  visit: (outBase: number, rows: [number, number], cols: [number, number], imageBase: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++)
    for (let i = 0; i < outHeight; i++) {
      const r0 = i * strideHeight - top;
      const rows: [number, number] = [Math.max(r0, 0), Math.min(r0 + filterHeight, inHeight)];
      for (let j = 0; j < outWidth; j++) {
        const c0 = j * strideWidth - left;
        const cols: [number, number] = [Math.max(c0, 0), Math.min(c0 + filterWidth, inWidth)];
        visit(
          ((b * outHeight + i) * outWidth + j) * inChannels,
          rows,
          cols,
          b * inHeight * inWidth * inChannels,
        );
      }
    }
}
