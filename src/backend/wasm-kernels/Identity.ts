/** Identity shares x's data, as on the cpu backend (the shipped kernel copies the whole tensor). */
import * as tf from '../../tf.js';
import { argsOf, shared, type WasmKernel } from './kernel.js';

export const Identity: WasmKernel = {
  kernelName: tf.Identity,
  wasm(args) {
    const { inputs, backend } = argsOf<{ x: tf.TensorInfo }>(args);
    return inputs.x.dtype === 'string' ? undefined : shared(backend, inputs.x);
  },
};
