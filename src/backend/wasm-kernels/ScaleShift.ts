/** The project's ScaleShift (batch normalisation in inference mode, optional ReLU): one native pass over x. */
import type * as tf from '../../tf.js';
import { ScaleShift as kernelName, type ScaleShiftAttrs } from '../kernel-names.js';
import { heapOf, offsetOf } from '../wasm-native.js';
import { argsOf, channelsOf, sizeOf, type WasmKernel } from './kernel.js';

export const ScaleShift: WasmKernel = {
  kernelName,
  native(args, pack) {
    const { inputs, attrs, backend } = argsOf<
      Record<'x' | 'scale' | 'shift', tf.TensorInfo>,
      ScaleShiftAttrs
    >(args);
    const { x, scale, shift } = inputs;
    const c = channelsOf(x, scale, shift);
    if (c === undefined) return undefined;
    const out = backend.makeOutput(x.shape, 'float32');
    const at = (t: tf.TensorInfo) => offsetOf(backend, t);
    pack.scaleShift(
      heapOf(backend, out),
      at(x),
      at(scale),
      at(shift),
      at(out),
      sizeOf(x) / c,
      c,
      attrs.relu ? 1 : 0,
    );
    return out;
  },
};
