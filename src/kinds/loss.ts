/** Kind `loss`: the per-task objective on triplets of L2-normalised embeddings. */
import type * as tf from '../tf.js';

export interface TripletLossFunction {
  /** Per-triplet loss `[N]` for anchor, positive and negative embeddings `[N, D]`. */
  compute(anchor: tf.Tensor2D, positive: tf.Tensor2D, negative: tf.Tensor2D): tf.Tensor1D;
  /** Distance the loss uses, so that hard-negative mining ranks by the same measure. */
  distance(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D;
}
