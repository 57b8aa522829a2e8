/**
 * Conv2DBackpropFilter (dW of a convolution), which tfjs-backend-wasm lacks: oneDNN in the native pack;
 * otherwise a composition of the backend's own XNNPACK kernels.
 */
import * as tf from '../../tf.js';
import { BACKWARD_WEIGHTS, convGeometry, convolutionGradient, cropNegative } from './convolution.js';
import { argsOf, type Scratch } from './kernel.js';

/**
 * dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·s+a−top, j·s+b−left, ci] · dy[n,i,j,co] is a stride-1 convolution of x seen
 * as [Cin, H, W, N] with dy seen as a [Ho, Wo, N, Cout] filter dilated by the forward stride.
 */
function xnnpack(s: Scratch, info: tf.backend_util.Conv2DInfo, x: tf.TensorInfo, dy: tf.TensorInfo) {
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } =
    info;
  const { top, left } = info.padInfo;
  const bottom = filterHeight + (outHeight - 1) * strideHeight - inHeight - top;
  const right = filterWidth + (outWidth - 1) * strideWidth - inWidth - left;
  // Rows/columns the forward pass never read are cropped before the (copying) transpose.
  const [xc, pads] = cropNegative(s, x, 0, bottom, 0, right);
  pads[1][0] = top;
  pads[2][0] = left;
  const xt = s.transpose(xc, [3, 1, 2, 0]);
  const dyt = s.transpose(dy, [1, 2, 0, 3]);
  const attrs = { strides: [1, 1], pad: pads, dilations: [strideHeight, strideWidth], dataFormat: 'NHWC' };
  const conv = s.run(tf.Conv2D, { x: xt, filter: dyt }, attrs as unknown as tf.NamedAttrMap);
  return s.transpose(conv, [1, 2, 0, 3]);
}

export const Conv2DBackpropFilter = convolutionGradient({
  kernelName: tf.Conv2DBackpropFilter,
  pass: BACKWARD_WEIGHTS,
  geometry(args) {
    const { inputs, attrs } = argsOf<{ x: tf.TensorInfo }, tf.Conv2DBackpropFilterAttrs>(args);
    const info = convGeometry(inputs.x.shape, attrs.filterShape, attrs);
    return info && { info, other: inputs.x };
  },
  outShape: (info) => info.filterShape,
  operands: (x, dy, dw) => [x, dw, dy],
  xnnpack,
});
