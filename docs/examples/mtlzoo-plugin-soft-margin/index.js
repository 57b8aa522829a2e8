// @ts-check: editors (and `tsc --checkJs`) check this file against mtlzoo's types.
import { definePlugin, tf, z } from 'mtlzoo';

/** @typedef {{ distance: 'squared-euclidean' | 'euclidean' }} SoftMarginOptions */

/**
 * The soft-margin triplet loss log(1 + exp(d(a, p) − d(a, n))) of Hermans, Beyer and Leibe (2017).
 * @type {import('mtlzoo').PluginOf<'loss', SoftMarginOptions>}
 */
export const softMarginLoss = definePlugin({
  kind: 'loss',
  name: 'soft-margin',
  version: '1.0.0',
  description: 'Soft-margin triplet loss log(1 + exp(d(a,p) - d(a,n))) on squared or plain L2 distances',
  options: z.strictObject({
    distance: z.enum(['squared-euclidean', 'euclidean']).default('squared-euclidean'),
  }),
  create({ distance: kind }) {
    /** @type {(a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor1D} */
    const distance = (a, b) =>
      tf.tidy(() => {
        const squared = tf.sum(tf.squaredDifference(a, b), 1);
        // The epsilon keeps the square root's gradient finite when two embeddings coincide.
        return /** @type {tf.Tensor1D} */ (
          kind === 'squared-euclidean' ? squared : tf.sqrt(tf.add(squared, 1e-12))
        );
      });
    return {
      distance,
      compute: (anchor, positive, negative) =>
        tf.tidy(
          () =>
            /** @type {tf.Tensor1D} */ (
              tf.softplus(tf.sub(distance(anchor, positive), distance(anchor, negative)))
            ),
        ),
    };
  },
});

export default [softMarginLoss];
