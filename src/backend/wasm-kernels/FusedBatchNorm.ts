/**
 * The project's FusedBatchNorm (src/backend/kernel-names.ts): batch statistics, normalisation and an optional
 * ReLU in two passes of the native pack over x, where the composition of tfjs ops takes about ten.
 */
import type * as tf from '../../tf.js';
import { FusedBatchNorm as kernelName, type FusedBatchNormAttrs } from '../kernel-names.js';
import { heapOf, offsetOf } from '../wasm-native.js';
import { argsOf, channelsOf, sizeOf, type WasmKernel } from './kernel.js';

type Inputs = { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };

export const FusedBatchNorm: WasmKernel = {
  kernelName,
  native(args, pack) {
    const { inputs, attrs, backend } = argsOf<Inputs, FusedBatchNormAttrs>(args);
    const { x, gamma, beta } = inputs;
    const c = channelsOf(x, gamma, beta);
    if (c === undefined) return undefined;
    const outputs = [
      backend.makeOutput(x.shape, 'float32'),
      backend.makeOutput([c], 'float32'),
      backend.makeOutput([c], 'float32'),
    ];
    const at = (t: tf.TensorInfo) => offsetOf(backend, t);
    const [y, mean, variance] = outputs.map(at) as [number, number, number];
    const rows = sizeOf(x) / c;
    pack.batchNorm(
      heapOf(backend, outputs[0]!),
      at(x),
      at(gamma),
      at(beta),
      y,
      mean,
      variance,
      rows,
      c,
      attrs.epsilon,
      attrs.relu ? 1 : 0,
    );
    return outputs;
  },
};
