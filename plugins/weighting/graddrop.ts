import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import * as tf from '../../src/tf.js';

/**
 * GradDrop, "Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout" (Chen et al.,
 * NeurIPS 2020). Per element, the sign purity P = ½ (1 + Σ_t g_t / Σ_t |g_t|) picks a sign with a uniform
 * draw U: tasks whose gradient has the picked sign (positive where P > U, negative where P < U) keep it, the
 * others are dropped (kept at `leak`). LibMTL applies it to the gradients of a shared representation; mtlzoo's
 * methods share parameters inside the backbone (modulation acts on every stage), so there is no single
 * representation, and GradDrop acts element-wise on the shared parameters' gradients — already summed over
 * the batch, which the paper's sign-of-input correction stands in for.
 */
export const graddropWeighting = definePlugin({
  kind: 'weighting',
  name: 'graddrop',
  version: '1.0.0',
  description:
    'GradDrop (Chen et al. 2020): keep, per element, only the gradients of one randomly picked sign',
  options: z.strictObject({
    /** Fraction of a dropped gradient that is kept (paper: 0). */
    leak: z.number().min(0).max(1).default(0),
  }),
  create: ({ leak }, { taskCount }) => ({
    uses: 'gradients',
    update(gradients, step) {
      const shared = tf.tidy(() => {
        const g = gradients.matrix;
        const purity = tf.mul(0.5, tf.add(1, tf.div(tf.sum(g, 0), tf.add(tf.sum(tf.abs(g), 0), 1e-7))));
        const draw = tf.randomUniform(purity.shape, 0, 1, 'float32', step.random.int(2 ** 31));
        const keep = tf.logicalOr(
          tf.logicalAnd(tf.greater(purity, draw), tf.greater(g, 0)),
          tf.logicalAnd(tf.less(purity, draw), tf.less(g, 0)),
        );
        return tf.sum(tf.mul(g, tf.add(leak, tf.mul(1 - leak, tf.cast(keep, 'float32')))), 0);
      }) as tf.Tensor1D;
      return { shared, taskWeights: new Array<number>(taskCount).fill(1) };
    },
  }),
});
