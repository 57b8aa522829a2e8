/**
 * Mean of float32 over leading axes (batch statistics): the shipped kernel transposes the whole tensor
 * first. Without the pack, XNNPACK's average pool over the [rows, cols] matrix seen as a rows×1 image of
 * cols channels reads it once (~6× faster). Other reductions go to the shipped kernel.
 */
import * as tf from '../../tf.js';
import { Scratch, type WasmKernel } from './kernel.js';
import { columnSums, leadingReduction, nativeColumnSums } from './Sum.js';

export const Mean: WasmKernel = {
  kernelName: tf.Mean,
  native: (args, pack) => nativeColumnSums(args, pack, (rows) => rows),
  wasm(args) {
    const r = leadingReduction(args);
    if (r === undefined) return undefined;
    // XNNPACK rejects an empty window. The cpu backend divides before it adds: the mean of nothing is 0.
    if (r.rows === 0 || r.cols === 0) return columnSums(args, (rows) => rows || 1);
    const s = new Scratch(r.backend);
    const image = s.run(tf.Reshape, { x: r.x }, { shape: [1, r.rows, 1, r.cols] });
    const pooled = s.run(
      tf.AvgPool,
      { x: image },
      { filterSize: [r.rows, 1], strides: [r.rows, 1], pad: 'valid' },
    );
    return s.release(s.run(tf.Reshape, { x: pooled }, { shape: r.shape }));
  },
};
