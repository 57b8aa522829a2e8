/**
 * Conv2DBackpropInput (dx of a convolution, and conv2dTranspose): oneDNN in the native pack; otherwise a
 * composition of the wasm backend's own XNNPACK kernels (the shipped kernel is a scalar loop, ~20× slower).
 */
import * as tf from '../../tf.js';
import { BACKWARD_DATA, convGeometry, convolutionGradient, cropNegative } from './convolution.js';
import { argsOf, type Scratch } from './kernel.js';

/** dx is the correlation of dy, zero-dilated by the forward stride, with the filter rotated by 180° and its channel axes swapped. */
function xnnpack(s: Scratch, info: tf.backend_util.Conv2DInfo, filter: tf.TensorInfo, dy: tf.TensorInfo) {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  let dilated = dy;
  if (strideHeight > 1 || strideWidth > 1) {
    // Zeros between dy's pixels: stride−1 zeros after each one along two unit axes, then merged.
    const split = s.run(
      tf.Reshape,
      { x: dy },
      { shape: [batchSize, outHeight, 1, outWidth, 1, outChannels] },
    );
    const paddings = [
      [0, 0],
      [0, 0],
      [0, strideHeight - 1],
      [0, 0],
      [0, strideWidth - 1],
      [0, 0],
    ];
    const padded = s.run(tf.PadV2, { x: split }, { paddings, constantValue: 0 });
    const shape = [batchSize, outHeight * strideHeight, outWidth * strideWidth, outChannels];
    dilated = s.run(tf.Reshape, { x: padded }, { shape });
  }
  const top = filterHeight - 1 - info.padInfo.top;
  const left = filterWidth - 1 - info.padInfo.left;
  const bottom = inHeight - dilated.shape[1]! - top + filterHeight - 1;
  const right = inWidth - dilated.shape[2]! - left + filterWidth - 1;
  const [cropped, pads] = cropNegative(s, dilated, top, bottom, left, right);
  const flipped = s.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
  const swapped = s.transpose(flipped, [0, 1, 3, 2]);
  const attrs = { strides: [1, 1], pad: pads, dilations: [1, 1], dataFormat: 'NHWC' };
  return s.run(tf.Conv2D, { x: cropped, filter: swapped }, attrs as unknown as tf.NamedAttrMap);
}

export const Conv2DBackpropInput = convolutionGradient({
  kernelName: tf.Conv2DBackpropInput,
  pass: BACKWARD_DATA,
  geometry(args) {
    const { inputs, attrs } = argsOf<{ filter: tf.TensorInfo }, tf.Conv2DBackpropInputAttrs>(args);
    const info = convGeometry(attrs.inputShape, inputs.filter.shape, attrs);
    return info && { info, other: inputs.filter };
  },
  outShape: (info) => info.inShape,
  operands: (filter, dy, dx) => [dx, filter, dy],
  xnnpack,
});
