/** The gradient of the project's FusedBatchNorm: two passes of the native pack over dy and x. */
import * as tf from '../../tf.js';
import { FusedBatchNormGrad as kernelName, type FusedBatchNormAttrs } from '../kernel-names.js';
import { heapOf, offsetOf } from '../wasm-native.js';
import { argsOf, channelsOf, sizeOf, type WasmKernel } from './kernel.js';

type Inputs = Record<'dy' | 'x' | 'gamma' | 'mean' | 'variance' | 'y', tf.TensorInfo>;

export const FusedBatchNormGrad: WasmKernel = {
  kernelName,
  native(args, pack) {
    const { inputs, attrs, backend } = argsOf<Inputs, FusedBatchNormAttrs>(args);
    const { dy, x, gamma, mean, variance, y } = inputs;
    const c = channelsOf(x, gamma, mean, variance);
    const sameShape = [dy, y].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, x.shape));
    if (c === undefined || !sameShape) return undefined;
    const outputs = [
      backend.makeOutput(x.shape, 'float32'),
      backend.makeOutput([c], 'float32'),
      backend.makeOutput([c], 'float32'),
    ];
    const at = (t: tf.TensorInfo) => offsetOf(backend, t);
    const reads = [dy, x, gamma, mean, variance, y].map(at);
    const writes = outputs.map(at);
    const rows = sizeOf(x) / c;
    pack.batchNormGrad(
      heapOf(backend, outputs[0]!),
      ...reads,
      ...writes,
      rows,
      c,
      attrs.epsilon,
      attrs.relu ? 1 : 0,
    );
    return outputs;
  },
};
