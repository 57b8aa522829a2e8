import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import * as tf from '../../src/tf.js';
import { nashBargainingWeights } from '../../src/weighting/nash.js';

/**
 * Nash-MTL, "Multi-Task Learning as a Bargaining Game" (Navon et al., ICML 2022). On the Gram matrix G of
 * the task gradients, normalised by its Frobenius norm, α > 0 solves the bargaining condition
 * α_t (Gα)_t = 1 (src/weighting/nash.ts), warm-started from the previous solution, which is kept when the
 * problem has none. The update is Σ_t α_t g_t with its norm clipped to `maxNorm` (as the official code and
 * LibMTL clip the shared parameters' gradient); task-specific parameters get α_t ∇L_t. α is recomputed every
 * `updateWeightsEvery` steps.
 */
export const nashMtlWeighting = definePlugin({
  kind: 'weighting',
  name: 'nash-mtl',
  version: '1.0.0',
  description: 'Nash-MTL (Navon et al. 2022): the Nash bargaining solution among task gradients',
  options: z.strictObject({
    /** Steps between solutions (paper: 1). */
    updateWeightsEvery: z.int().positive().default(1),
    /** Largest norm of the shared update, 0 for none (paper: 1). */
    maxNorm: z.number().nonnegative().default(1),
  }),
  create: ({ updateWeightsEvery, maxNorm }, { taskCount }) => {
    let alpha = new Array<number>(taskCount).fill(1);
    return {
      uses: 'gradients',
      update(gradients, step) {
        if (step.step % updateWeightsEvery === 0) {
          const gram = gradients.gram();
          const frobenius = Math.sqrt(gram.flat().reduce((s, v) => s + v * v, 0));
          if (frobenius > 0) {
            const solution = nashBargainingWeights(
              gram.map((row) => row.map((v) => v / frobenius)),
              alpha,
            );
            if (solution.converged) alpha = solution.alpha;
          }
        }
        const combined = gradients.combine(alpha);
        const shared =
          maxNorm > 0
            ? tf.tidy(() => {
                const norm = tf.norm(combined);
                return tf.mul(combined, tf.div(maxNorm, tf.maximum(norm, maxNorm)));
              })
            : combined;
        if (shared !== combined) combined.dispose();
        return { shared: shared as tf.Tensor1D, taskWeights: [...alpha] };
      },
      state: () => ({ values: { alpha } }),
      restore(state) {
        alpha = [...(state.values as { alpha: number[] }).alpha];
      },
    };
  },
});
