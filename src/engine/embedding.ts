/**
 * The one place where a method's raw embeddings become the ones losses and metrics use: L2-normalised,
 * unless the method declares `embeddingNorm: 'none'`.
 */
import type { ForwardContext } from '../kinds/backbone.js';
import type { MtlModel } from '../kinds/method.js';
import * as tf from '../tf.js';

/** As TensorFlow's l2_normalize (FaceNet's): x / sqrt(max(Σx², ε)), so a zero row stays finite. */
const SQUARED_NORM_EPSILON = 1e-12;

export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), 1, true), SQUARED_NORM_EPSILON))));
}

/** `raw` embeddings of `model` as losses and metrics use them: L2-normalised unless the model says `none`. */
export function normaliseFor(model: MtlModel, raw: tf.Tensor2D): tf.Tensor2D {
  return model.embeddingNorm === 'none' ? raw : l2NormalizeRows(raw);
}

export function normalisedEmbeddings(
  model: MtlModel,
  images: tf.Tensor4D,
  taskIds: Int32Array,
  context: ForwardContext,
): tf.Tensor2D {
  return tf.tidy(() => normaliseFor(model, model.embed(images, taskIds, context)));
}
