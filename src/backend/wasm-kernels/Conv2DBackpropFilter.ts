/**
 * Conv2DBackpropFilter (dW of a convolution), which tfjs-backend-wasm lacks: oneDNN in the native pack;
 * otherwise a composition of the backend's own XNNPACK kernels. A dy larger than the convolution's output
 * is read through its leading block, as on the cpu backend.
 */
import * as tf from '../../tf.js';
import {
  BACKWARD_WEIGHTS,
  convGeometry,
  cropNegative,
  nativeConvolution,
  nativeGeometry,
} from './convolution.js';
import {
  argsOf,
  backendOf,
  emptySum,
  isFloat32,
  isRank,
  Scratch,
  type KernelArgs,
  type WasmKernel,
} from './kernel.js';

type Inputs = { x: tf.TensorInfo; dy: tf.TensorInfo };

function prepare(args: KernelArgs, s: Scratch) {
  const { inputs, attrs, backend } = argsOf<Inputs, tf.Conv2DBackpropFilterAttrs>(args);
  const { x, dy } = inputs;
  if (!isRank(4, dy) || !isFloat32(x, dy)) return undefined;
  const info = convGeometry(x.shape, attrs.filterShape, attrs);
  if (info === undefined) return undefined;
  const empty = emptySum(backend, info.filterShape, [x, dy]);
  return { info, x, dy: empty ? dy : s.conform(dy, info.outShape, 'Conv2DBackpropFilter: dy'), empty };
}

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

export const Conv2DBackpropFilter: WasmKernel = {
  kernelName: tf.Conv2DBackpropFilter,
  native(args, pack) {
    const s = new Scratch(backendOf(args));
    const p = prepare(args, s);
    if (p === undefined || !nativeGeometry(p.info)) return s.release(undefined);
    if (p.empty) return s.release(p.empty);
    const out = s.backend.makeOutput(p.info.filterShape, 'float32');
    nativeConvolution(pack, BACKWARD_WEIGHTS, s.backend, p.info, [p.x, out, p.dy]);
    return s.release(out);
  },
  wasm(args) {
    const s = new Scratch(backendOf(args));
    const p = prepare(args, s);
    if (p === undefined) return s.release(undefined);
    return s.release(p.empty ?? xnnpack(s, p.info, p.x, p.dy));
  },
};
