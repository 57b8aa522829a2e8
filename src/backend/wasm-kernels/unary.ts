/** The float32 unary kernels the native pack runs on every core for large tensors (native/src/unary.cc). */
import type * as tf from '../../tf.js';
import { fewElements, heapOf, offsetOf } from '../wasm-native.js';
import { argsOf, sizeOf, type WasmKernel } from './kernel.js';

/** A unary kernel whose native op code is `op`; `alpha` is Step's value at x ≤ 0. */
export function nativeUnary(kernelName: string, op: number): WasmKernel {
  return {
    kernelName,
    native(args, pack) {
      const { inputs, attrs, backend } = argsOf<{ x: tf.TensorInfo }, { alpha?: number }>(args);
      const { x } = inputs;
      if (x.dtype !== 'float32' || fewElements(sizeOf(x))) return undefined;
      const out = backend.makeOutput(x.shape, 'float32');
      pack.unary(
        op,
        heapOf(backend, out),
        offsetOf(backend, x),
        offsetOf(backend, out),
        sizeOf(x),
        attrs.alpha ?? 0,
      );
      return out;
    },
  };
}
