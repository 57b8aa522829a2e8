/**
 * FusedConv2D with a rank-1 bias and a linear or ReLU activation (inference's convolution with its batch
 * normalisation folded in, src/nn/layers.ts): one oneDNN pass in the native pack, bias and ReLU as its
 * post-ops. The shipped XNNPACK kernel otherwise, and for other activations.
 */
import * as tf from '../../tf.js';
import { convGeometry, nativeFusedConvolution, nativeGeometry } from './convolution.js';
import { argsOf, emptySum, isFloat32, type WasmKernel } from './kernel.js';

type Inputs = {
  x: tf.TensorInfo;
  filter: tf.TensorInfo;
  bias?: tf.TensorInfo;
  preluActivationWeights?: tf.TensorInfo;
};

export const FusedConv2D: WasmKernel = {
  kernelName: tf.FusedConv2D,
  native(args, pack) {
    const { inputs, attrs, backend } = argsOf<Inputs, tf.FusedConv2DAttrs>(args);
    const { x, filter, bias } = inputs;
    const activation = attrs.activation ?? 'linear';
    if (
      bias === undefined ||
      inputs.preluActivationWeights ||
      (activation !== 'linear' && activation !== 'relu')
    )
      return undefined;
    const info = convGeometry(x.shape, filter.shape, attrs);
    const biasFits = bias.shape.length === 1 && bias.shape[0] === filter.shape[3];
    if (info === undefined || !isFloat32(x, filter, bias) || !biasFits || !nativeGeometry(info))
      return undefined;
    // An empty output, or zeros plus the bias: cases for the shipped kernel.
    if (emptySum(backend, info.outShape, [x, filter]) !== undefined) return undefined;
    const out = backend.makeOutput(info.outShape, 'float32');
    nativeFusedConvolution(pack, backend, info, [x, filter, bias, out], activation === 'relu');
    return out;
  },
};
