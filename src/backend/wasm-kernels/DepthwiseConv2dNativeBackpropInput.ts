/** DepthwiseConv2dNativeBackpropInput, which tfjs-backend-wasm lacks: a loop over heap views. */
import * as tf from '../../tf.js';
import { depthwiseGeometry, depthwiseGradient } from './depthwise.js';
import { argsOf } from './kernel.js';

export const DepthwiseConv2dNativeBackpropInput = depthwiseGradient({
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  geometry(args) {
    const { inputs, attrs } = argsOf<{ filter: tf.TensorInfo }, tf.DepthwiseConv2dNativeBackpropInputAttrs>(
      args,
    );
    const info = depthwiseGeometry(attrs.inputShape, inputs.filter.shape, attrs);
    return info && { info, other: inputs.filter };
  },
  outShape: (info) => info.inShape,
  accumulate(dx, ws, dys, [xBase, wBase, dyBase], channels, mult) {
    for (let d = 0; d < channels; d++) dx[xBase + Math.floor(d / mult)]! += ws[wBase + d]! * dys[dyBase + d]!;
  },
});
