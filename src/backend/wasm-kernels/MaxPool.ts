/**
 * MaxPool: the native pack's loop on every core for large tensors. The shipped XNNPACK kernel otherwise,
 * except where it disagrees with the cpu backend: a 1×1 window over an output of the input's size is x
 * itself, and a window wholly in the padding is −∞ (XNNPACK leaves it unwritten).
 */
import * as tf from '../../tf.js';
import { fewElements, heapOf, offsetOf } from '../wasm-native.js';
import { argsOf, heapF32, shared, sizeOf, type KernelArgs, type WasmKernel } from './kernel.js';
import {
  forEachWindow,
  hasEmptyWindow,
  isIdentityPool,
  poolGeometry,
  poolSizes,
  type PoolAttrs,
} from './pooling.js';

function prepare(args: KernelArgs) {
  const { inputs, attrs, backend } = argsOf<{ x: tf.TensorInfo }, PoolAttrs>(args);
  const info = poolGeometry(inputs.x, attrs);
  return info && { backend, x: inputs.x, info };
}

export const MaxPool: WasmKernel = {
  kernelName: tf.MaxPool,
  native(args, pack) {
    const p = prepare(args);
    if (p === undefined) return undefined;
    const { backend, x, info } = p;
    if (isIdentityPool(info)) return shared(backend, x);
    if (fewElements(sizeOf(x))) return undefined;
    const out = backend.makeOutput(info.outShape, 'float32');
    pack.maxPool(heapOf(backend, out), offsetOf(backend, x), offsetOf(backend, out), ...poolSizes(info));
    return out;
  },
  wasm(args) {
    const p = prepare(args);
    if (p === undefined) return undefined;
    const { backend, x, info } = p;
    if (isIdentityPool(info)) return shared(backend, x);
    if (!hasEmptyWindow(info)) return undefined;
    const out = backend.makeOutput(info.outShape, 'float32');
    const xs = heapF32(backend, x);
    const ys = heapF32(backend, out);
    const channels = info.inChannels;
    ys.fill(-Infinity);
    forEachWindow(info, (outBase, [r0, r1], [c0, c1], image) => {
      for (let r = r0; r < r1; r++)
        for (let c = c0; c < c1; c++) {
          const base = image + (r * info.inWidth + c) * channels;
          for (let d = 0; d < channels; d++)
            if (xs[base + d]! > ys[outBase + d]!) ys[outBase + d] = xs[base + d]!;
        }
    });
    return out;
  },
};
