/**
 * MaxPoolGrad: dy of each window goes to the window's first maximum (row-major, strict >, padding never a
 * candidate), as on the cpu backend. The native pack's loop splits the batch over every core for large
 * tensors; the wasm one makes one pass over x with per-channel running maxima (the shipped kernel walks
 * every dy window covering each dx pixel, ~5× slower).
 */
import * as tf from '../../tf.js';
import { fewElements, heapOf, offsetOf } from '../wasm-native.js';
import { argsOf, backendOf, heapF32, Scratch, sizeOf, type KernelArgs, type WasmKernel } from './kernel.js';
import { forEachWindow, poolGeometry, poolSizes, type PoolAttrs } from './pooling.js';

type Inputs = { dy: tf.TensorInfo; input: tf.TensorInfo };

function prepare(args: KernelArgs, s: Scratch) {
  const { inputs, attrs } = argsOf<Inputs, PoolAttrs>(args);
  const info = poolGeometry(inputs.input, attrs);
  if (info === undefined || inputs.dy.dtype !== 'float32') return undefined;
  return { info, x: inputs.input, dy: s.conform(inputs.dy, info.outShape, 'MaxPoolGrad: dy') };
}

export const MaxPoolGrad: WasmKernel = {
  kernelName: tf.MaxPoolGrad,
  native(args, pack) {
    const s = new Scratch(backendOf(args));
    const p = prepare(args, s);
    if (p === undefined || fewElements(sizeOf(p.x))) return s.release(undefined);
    const out = s.backend.makeOutput(p.x.shape, 'float32');
    const at = (t: tf.TensorInfo) => offsetOf(s.backend, t);
    pack.maxPoolGrad(heapOf(s.backend, out), at(p.x), at(p.dy), at(out), ...poolSizes(p.info));
    return s.release(out);
  },
  wasm(args) {
    const s = new Scratch(backendOf(args));
    const p = prepare(args, s);
    if (p === undefined) return s.release(undefined);
    const { info } = p;
    const channels = info.inChannels;
    const out = s.backend.makeOutput(p.x.shape, 'float32');
    const [xs, dys, dx] = [p.x, p.dy, out].map((t) => heapF32(s.backend, t)) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    dx.fill(0);
    const best = new Float32Array(channels);
    const at = new Int32Array(channels);
    forEachWindow(info, (outBase, [r0, r1], [c0, c1], image) => {
      best.fill(-Infinity);
      at.fill(-1);
      for (let r = r0; r < r1; r++)
        for (let c = c0; c < c1; c++) {
          const base = image + (r * info.inWidth + c) * channels;
          for (let d = 0; d < channels; d++)
            if (xs[base + d]! > best[d]!) {
              best[d] = xs[base + d]!;
              at[d] = base + d;
            }
        }
      for (let d = 0; d < channels; d++) if (at[d]! >= 0) dx[at[d]!]! += dys[outBase + d]!;
    });
    return s.release(out);
  },
};
