/** UnsortedSegmentSum (gather's gradient), which tfjs-backend-wasm lacks: a scatter-add over heap views. */
import * as tf from '../../tf.js';
import { argsOf, type WasmKernel } from './kernel.js';

export const UnsortedSegmentSum: WasmKernel = {
  kernelName: tf.UnsortedSegmentSum,
  /** Ids outside [0, numSegments) are dropped, as on the cpu backend. */
  wasm(args) {
    const { inputs, attrs, backend } = argsOf<
      { x: tf.TensorInfo; segmentIds: tf.TensorInfo },
      tf.UnsortedSegmentSumAttrs
    >(args);
    const { x, segmentIds } = inputs;
    const { numSegments } = attrs;
    const idsShape = segmentIds.shape;
    const valid =
      (x.dtype === 'float32' || x.dtype === 'int32') &&
      segmentIds.dtype === 'int32' &&
      Number.isInteger(numSegments) &&
      numSegments >= 0 &&
      tf.util.arraysEqual(x.shape.slice(0, idsShape.length), idsShape);
    if (!valid)
      throw new Error(
        `UnsortedSegmentSum: expected float32 or int32 x whose shape begins with the int32 segmentIds' shape and numSegments ≥ 0, got x ${x.dtype} [${x.shape}], segmentIds ${segmentIds.dtype} [${idsShape}], numSegments ${numSegments}`,
      );
    const rows = tf.util.sizeFromShape(idsShape);
    const innerShape = x.shape.slice(idsShape.length);
    const inner = tf.util.sizeFromShape(innerShape);
    const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
    const xs = backend.typedArrayFromHeap(x);
    const ids = backend.typedArrayFromHeap(segmentIds);
    const ys = backend.typedArrayFromHeap(out);
    ys.fill(0);
    for (let r = 0; r < rows; r++) {
      const id = ids[r]!;
      if (id < 0 || id >= numSegments) continue;
      const src = r * inner;
      const dst = id * inner;
      for (let k = 0; k < inner; k++) ys[dst + k]! += xs[src + k]!;
    }
    return out;
  },
};
