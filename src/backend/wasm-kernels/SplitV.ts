/**
 * SplitV (tf.split, and the gradient of every concat) as block copies over heap views: the shipped kernel
 * slices each output element by element through strides, ~2 s to split a [167,64,64,16] batch by task, which
 * made per-task modules (adapters, MTAN, task-BN) 4–10× slower than modulation at 64 px.
 */
import * as tf from '../../tf.js';
import { argsOf, sizeOf, type WasmKernel } from './kernel.js';

export const SplitV: WasmKernel = {
  kernelName: tf.SplitV,
  wasm(args) {
    const { inputs, attrs, backend } = argsOf<{ x: tf.TensorInfo }, tf.SplitVAttrs>(args);
    const { x } = inputs;
    if (x.dtype === 'string' || x.dtype === 'complex64') return undefined;
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    const row = x.shape[axis]! * inner;
    // Every output first: making one may grow the heap, which detaches views taken before.
    const outs = sizes.map((size) =>
      backend.makeOutput(
        x.shape.map((d, i) => (i === axis ? size : d)),
        x.dtype,
      ),
    );
    const xs = backend.typedArrayFromHeap(x);
    let begin = 0;
    outs.forEach((out, k) => {
      const size = sizes[k]!;
      const ys = backend.typedArrayFromHeap(out);
      const block = size * inner;
      for (let o = 0; o < outer; o++) {
        const from = o * row + begin * inner;
        ys.set(xs.subarray(from, from + block), o * block);
      }
      begin += size;
    });
    return outs;
  },
};
