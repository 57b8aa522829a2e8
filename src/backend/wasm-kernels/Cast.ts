/**
 * Cast. To x's own dtype it shares x's data, as on the cpu backend (the shipped kernel copies); to bool it is
 * x ≠ 0 (the shipped kernel copies the numbers' low bytes: 3 stays 3). Other casts go to the shipped kernel.
 */
import * as tf from '../../tf.js';
import { argsOf, shared, type WasmKernel } from './kernel.js';

export const Cast: WasmKernel = {
  kernelName: tf.Cast,
  wasm(args) {
    const { inputs, attrs, backend } = argsOf<{ x: tf.TensorInfo }, tf.CastAttrs>(args);
    const { x } = inputs;
    if (x.dtype === 'string' || x.dtype === 'complex64') return undefined;
    if (attrs.dtype === x.dtype) return shared(backend, x);
    if (attrs.dtype !== 'bool') return undefined;
    const out = backend.makeOutput(x.shape, 'bool');
    const xs = backend.typedArrayFromHeap(x);
    const ys = backend.typedArrayFromHeap(out);
    // NaN ≠ 0: true, as on cpu.
    for (let i = 0; i < xs.length; i++) ys[i] = xs[i] !== 0 ? 1 : 0;
    return out;
  },
};
