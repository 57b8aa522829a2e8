/** DepthwiseConv2dNativeBackpropFilter, which tfjs-backend-wasm lacks: a loop over heap views. */
import * as tf from '../../tf.js';
import { depthwiseGeometry, depthwiseGradient } from './depthwise.js';
import { argsOf } from './kernel.js';

export const DepthwiseConv2dNativeBackpropFilter = depthwiseGradient({
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  geometry(args) {
    const { inputs, attrs } = argsOf<{ x: tf.TensorInfo }, tf.DepthwiseConv2dNativeBackpropFilterAttrs>(args);
    const info = depthwiseGeometry(inputs.x.shape, attrs.filterShape, attrs);
    return info && { info, other: inputs.x };
  },
  outShape: (info) => info.filterShape,
  accumulate(dw, xs, dys, [xBase, wBase, dyBase], channels, mult) {
    for (let d = 0; d < channels; d++) dw[wBase + d]! += xs[xBase + Math.floor(d / mult)]! * dys[dyBase + d]!;
  },
});
