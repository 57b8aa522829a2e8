import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { matVec, minimizeOnSimplex, quadratic } from '../../src/weighting/linalg.js';

/**
 * CAGrad, "Conflict-Averse Gradient Descent for Multi-task Learning" (Liu et al., NeurIPS 2021). With g0 the
 * average gradient and c = calpha ‖g0‖, w on the simplex minimises g_wᵀ g0 + c ‖g_w‖ (g_w = Σ w_t g_t; on
 * the Gram matrix A: wᵀA1/K + c √(wᵀAw + 1e-8), solved here to optimality by projected gradient where the
 * official code calls SLSQP); the update is (g0 + c g_w / ‖g_w‖) / (1 + calpha²) with `rescale` 1, or
 * divided by 1 + calpha with 2, or not with 0. As LibMTL, the update is at the scale of the average gradient.
 */
export const cagradWeighting = definePlugin({
  kind: 'weighting',
  name: 'cagrad',
  version: '1.0.0',
  description: 'CAGrad (Liu et al. 2021): the average gradient, bent to raise the worst task improvement',
  options: z.strictObject({
    /** Radius of the ball around the average gradient, relative to its norm (paper: 0.5). */
    calpha: z.number().nonnegative().default(0.5),
    /** 0: no rescaling; 1: ÷ (1 + calpha²) (paper's default); 2: ÷ (1 + calpha). */
    rescale: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
  }),
  create: ({ calpha, rescale }, { taskCount }) => ({
    uses: 'gradients',
    update(gradients) {
      const A = gradients.gram();
      const K = taskCount;
      const g0Norm = Math.sqrt(A.flat().reduce((a, b) => a + b, 0) / (K * K) + 1e-8);
      const c = calpha * g0Norm + 1e-8;
      const Ab = A.map((row) => row.reduce((a, b) => a + b, 0) / K);
      const w = minimizeOnSimplex(
        (x) => x.reduce((s, v, t) => s + v * Ab[t]!, 0) + c * Math.sqrt(quadratic(A, x) + 1e-8),
        (x) => {
          const Ax = matVec(A, x);
          const root = Math.sqrt(quadratic(A, x) + 1e-8);
          return Ab.map((v, t) => v + (c * Ax[t]!) / root);
        },
        new Array<number>(K).fill(1 / K),
      );
      const lambda = c / (Math.sqrt(Math.max(quadratic(A, w), 0)) + 1e-8);
      const scale = rescale === 1 ? 1 / (1 + calpha ** 2) : rescale === 2 ? 1 / (1 + calpha) : 1;
      return {
        shared: gradients.combine(w.map((v) => (1 / K + lambda * v) * scale)),
        taskWeights: new Array<number>(K).fill(1),
      };
    },
  }),
});
