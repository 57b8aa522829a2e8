/** Conv2D: oneDNN in the native pack; the shipped XNNPACK kernel otherwise. */
import * as tf from '../../tf.js';
import { convGeometry, FORWARD, nativeConvolution, nativeGeometry } from './convolution.js';
import { argsOf, emptySum, isFloat32, type WasmKernel } from './kernel.js';

export const Conv2D: WasmKernel = {
  kernelName: tf.Conv2D,
  native(args, pack) {
    const { inputs, attrs, backend } = argsOf<{ x: tf.TensorInfo; filter: tf.TensorInfo }, tf.Conv2DAttrs>(
      args,
    );
    const { x, filter } = inputs;
    const info = convGeometry(x.shape, filter.shape, attrs);
    if (info === undefined || !isFloat32(x, filter) || !nativeGeometry(info)) return undefined;
    const empty = emptySum(backend, info.outShape, [x, filter]);
    if (empty) return empty;
    const out = backend.makeOutput(info.outShape, 'float32');
    nativeConvolution(pack, FORWARD, backend, info, [x, filter, out]);
    return out;
  },
};
