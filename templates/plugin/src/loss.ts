/** example-loss: the soft-margin triplet loss log(1 + exp(d(a, p) − d(a, n))) of Hermans et al. (2017). */
import { definePlugin, tf, z } from 'mtlzoo';

export const exampleLoss = definePlugin({
  kind: 'loss',
  name: 'example-loss',
  version: '0.1.0',
  description: 'Soft-margin triplet loss log(1 + exp(d(a,p) - d(a,n))) on squared or plain L2 distances',
  options: z.strictObject({
    distance: z.enum(['squared-euclidean', 'euclidean']).default('squared-euclidean'),
  }),
  create({ distance: kind }) {
    const distance = (a: tf.Tensor2D, b: tf.Tensor2D) =>
      tf.tidy(() => {
        const squared = tf.sum(tf.squaredDifference(a, b), 1);
        // The epsilon keeps the square root's gradient finite when two embeddings coincide.
        return (kind === 'squared-euclidean' ? squared : tf.sqrt(tf.add(squared, 1e-12))) as tf.Tensor1D;
      });
    return {
      distance,
      compute: (anchor, positive, negative) =>
        tf.tidy(
          () => tf.softplus(tf.sub(distance(anchor, positive), distance(anchor, negative))) as tf.Tensor1D,
        ),
    };
  },
});
