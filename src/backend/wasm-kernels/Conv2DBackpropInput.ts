/**
 * Conv2DBackpropInput (dx of a convolution, and conv2dTranspose): oneDNN in the native pack; otherwise a
 * composition of the wasm backend's own XNNPACK kernels (the shipped kernel is a scalar loop, ~20× slower).
 * A dy larger than the convolution's output is read through its leading block, as on the cpu backend.
 */
import * as tf from '../../tf.js';
import {
  BACKWARD_DATA,
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

type Inputs = { dy: tf.TensorInfo; filter: tf.TensorInfo };

/** The geometry, dy conformed to it, and the output when it is empty or zeros; undefined when declined. */
function prepare(args: KernelArgs, s: Scratch) {
  const { inputs, attrs, backend } = argsOf<Inputs, tf.Conv2DBackpropInputAttrs>(args);
  const { dy, filter } = inputs;
  if (!isRank(4, dy) || !isFloat32(dy, filter)) return undefined;
  const info = convGeometry(attrs.inputShape, filter.shape, attrs);
  if (info === undefined) return undefined;
  const empty = emptySum(backend, info.inShape, [dy, filter]);
  return { info, filter, dy: empty ? dy : s.conform(dy, info.outShape, 'Conv2DBackpropInput: dy'), empty };
}

/** dx is the correlation of dy, zero-dilated by the forward stride, with the filter rotated by 180° and its channel axes swapped. */
function xnnpack(s: Scratch, info: tf.backend_util.Conv2DInfo, dy: tf.TensorInfo, filter: tf.TensorInfo) {
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
  const bottom = inHeight - (dilated.shape[1] as number) - top + filterHeight - 1;
  const right = inWidth - (dilated.shape[2] as number) - left + filterWidth - 1;
  const [cropped, pads] = cropNegative(s, dilated, top, bottom, left, right);
  const flipped = s.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
  const swapped = s.transpose(flipped, [0, 1, 3, 2]);
  const attrs = { strides: [1, 1], pad: pads, dilations: [1, 1], dataFormat: 'NHWC' };
  return s.run(tf.Conv2D, { x: cropped, filter: swapped }, attrs as unknown as tf.NamedAttrMap);
}

export const Conv2DBackpropInput: WasmKernel = {
  kernelName: tf.Conv2DBackpropInput,
  native(args, pack) {
    const s = new Scratch(backendOf(args));
    const p = prepare(args, s);
    if (p === undefined || !nativeGeometry(p.info)) return s.release(undefined);
    if (p.empty) return s.release(p.empty);
    const out = s.backend.makeOutput(p.info.inShape, 'float32');
    nativeConvolution(pack, BACKWARD_DATA, s.backend, p.info, [out, p.filter, p.dy]);
    return s.release(out);
  },
  wasm(args) {
    const s = new Scratch(backendOf(args));
    const p = prepare(args, s);
    if (p === undefined) return s.release(undefined);
    return s.release(p.empty ?? xnnpack(s, p.info, p.dy, p.filter));
  },
};
