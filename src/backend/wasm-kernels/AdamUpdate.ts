/** The project's AdamUpdate (src/backend/kernel-names.ts): one pass of the native pack per variable. */
import * as tf from '../../tf.js';
import { AdamUpdate as kernelName, type AdamUpdateAttrs } from '../kernel-names.js';
import { heapOf, offsetOf } from '../wasm-native.js';
import { argsOf, isFloat32, sizeOf, type WasmKernel } from './kernel.js';

type Inputs = Record<'value' | 'gradient' | 'm' | 'v' | 'correction', tf.TensorInfo>;

export const AdamUpdate: WasmKernel = {
  kernelName,
  native(args, pack) {
    const { inputs, attrs, backend } = argsOf<Inputs, AdamUpdateAttrs>(args);
    const { value, gradient, m, v, correction } = inputs;
    const same = [gradient, m, v].every((t) => tf.util.arraysEqual(t.shape, value.shape));
    if (!same || !isFloat32(value, gradient, m, v, correction) || sizeOf(correction) !== 2) return undefined;
    const outputs = [0, 1, 2].map(() => backend.makeOutput(value.shape, 'float32'));
    const at = (t: tf.TensorInfo) => offsetOf(backend, t);
    const { learningRate, beta1, beta2, epsilon } = attrs;
    pack.adamUpdate(
      heapOf(backend, outputs[0]!),
      ...[value, gradient, m, v, correction, ...outputs].map(at),
      sizeOf(value),
      learningRate,
      beta1,
      beta2,
      epsilon,
    );
    return outputs;
  },
};
