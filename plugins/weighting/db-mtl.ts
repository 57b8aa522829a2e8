import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import * as tf from '../../src/tf.js';

/**
 * DB-MTL, "Dual-Balancing for Multi-Task Learning" (Lin et al., 2023). Loss-scale balancing: each task's loss
 * enters as log(L_t + 1e-8), so its gradient is g_t / (L_t + 1e-8). Gradient-magnitude balancing: an EMA of
 * those gradients, m_t ← ĝ_t + (β / step^σ)(m_t − ĝ_t), is rescaled so every task's has the largest norm:
 * the update is Σ_t (max_s ‖m_s‖ / (‖m_t‖ + 1e-8)) m_t. Task-specific parameters get their log loss's
 * gradient (LibMTL). The EMA is a tensor of the tasks × shared parameters, carried in checkpoints.
 */
export const dbMtlWeighting = definePlugin({
  kind: 'weighting',
  name: 'db-mtl',
  version: '1.0.0',
  description: 'DB-MTL (Lin et al. 2023): log losses, then task gradients (EMA) scaled to the largest norm',
  options: z.strictObject({
    /** EMA rate of the gradients (paper: 0.9). */
    beta: z.number().min(0).max(1).default(0.9),
    /** Decay exponent of the EMA rate over steps (paper: 0). */
    betaSigma: z.number().nonnegative().default(0),
  }),
  create: ({ beta, betaSigma }, { taskCount }) => {
    let buffer: tf.Tensor2D | null = null;
    let steps = 0;
    return {
      uses: 'gradients',
      update(gradients, step) {
        steps += 1;
        const scale = step.losses.map((l) => 1 / (l + 1e-8));
        const next = tf.tidy(() => {
          const batch = tf.mul(gradients.matrix, tf.tensor2d(scale, [taskCount, 1]));
          const previous = buffer ?? tf.zerosLike(batch);
          return tf.add(batch, tf.mul(beta / steps ** betaSigma, tf.sub(previous, batch))) as tf.Tensor2D;
        });
        buffer?.dispose();
        buffer = tf.keep(next);
        const shared = tf.tidy(() => {
          const norms = tf.norm(next, 'euclidean', 1);
          const alpha = tf.div(tf.max(norms), tf.add(norms, 1e-8));
          return tf.matMul(alpha.reshape([1, taskCount]), next).reshape([-1]);
        }) as tf.Tensor1D;
        return { shared, taskWeights: scale };
      },
      state: () => ({
        values: { steps },
        tensors: buffer ? [{ name: 'buffer', tensor: buffer }] : [],
      }),
      restore(state) {
        steps = (state.values as { steps: number }).steps;
        buffer?.dispose();
        const saved = state.tensors?.find((t) => t.name === 'buffer');
        buffer = saved ? (tf.keep(saved.tensor.clone()) as tf.Tensor2D) : null;
      },
    };
  },
});
