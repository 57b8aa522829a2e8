// An mtlzoo plugin: one explicit object with identity (kind, name, version), an options schema and a
// factory. Everything it needs comes from mtlzoo itself, so it runs on the engine mtlzoo selected.
import { definePlugin, tf, z } from 'mtlzoo';

/**
 * Soft-margin triplet loss, log(1 + exp(d(a, p) − d(a, n))) (Hermans et al., "In Defense of the Triplet
 * Loss", 2017): a smooth hinge with no margin to tune, that keeps pulling easy triplets apart.
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
    const distance = (a, b) =>
      tf.tidy(() => {
        const squared = tf.sum(tf.squaredDifference(a, b), 1);
        // The epsilon keeps the square root's gradient finite when two embeddings coincide.
        return kind === 'squared-euclidean' ? squared : tf.sqrt(tf.add(squared, 1e-12));
      });
    return {
      distance,
      compute: (anchor, positive, negative) =>
        tf.tidy(() => tf.softplus(tf.sub(distance(anchor, positive), distance(anchor, negative)))),
    };
  },
});

export default [softMarginLoss];
