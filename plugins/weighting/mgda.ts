import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { minNormWeights } from '../../src/weighting/linalg.js';

const normalizations = ['none', 'l2', 'loss', 'loss+'] as const;

/** Each task's gradient normaliser (the official code's `gradient_normalizers`). */
function normalizers(
  kind: (typeof normalizations)[number],
  gram: readonly (readonly number[])[],
  losses: readonly number[],
): number[] {
  const norm = (t: number) => Math.sqrt(gram[t]![t]!);
  // A zero normaliser (a task whose gradient or loss is 0) leaves that gradient as it is.
  return losses.map((loss, t) => {
    const n = kind === 'l2' ? norm(t) : kind === 'loss' ? loss : kind === 'loss+' ? loss * norm(t) : 1;
    return n > 0 ? n : 1;
  });
}

/**
 * MGDA, "Multi-Task Learning as Multi-Objective Optimization" (Sener & Koltun, NeurIPS 2018): the update is
 * the min-norm point of the convex hull of the (normalised) task gradients, Σ_t α_t g_t / n_t with α on the
 * simplex, solved to optimality on their Gram matrix. `upperBound` is MGDA-UB: α from the gradients with
 * respect to the shared representation (here the batch's embeddings, the method's output), then one
 * backward of Σ α_t L_t / n_t — no per-task parameter gradients. Since each sample of a batch belongs to
 * one task, those representation gradients are orthogonal and MGDA-UB's weights follow their norms.
 */
export const mgdaWeighting = definePlugin({
  kind: 'weighting',
  name: 'mgda',
  version: '1.0.0',
  description: 'MGDA (Sener & Koltun 2018): min-norm point of the task gradients; upperBound for MGDA-UB',
  options: z.strictObject({
    /** Gradient normalisation before the min-norm problem (LibMTL's default: none). */
    normalization: z.enum(normalizations).default('none'),
    /** MGDA-UB: weights from the gradients with respect to the embeddings (one backward pass per step). */
    upperBound: z.boolean().default(false),
  }),
  create: ({ normalization, upperBound }, { taskCount }) => {
    const solve = (gram: number[][], losses: readonly number[]) => {
      const n = normalizers(normalization, gram, losses);
      const alpha = minNormWeights(gram.map((row, s) => row.map((v, t) => v / (n[s]! * n[t]!))));
      return alpha.map((a, t) => a / n[t]!);
    };
    if (upperBound) {
      return {
        uses: 'losses',
        weights: (step) => solve(step.representationGram!(), step.losses),
      };
    }
    return {
      uses: 'gradients',
      update: (gradients, step) => ({
        shared: gradients.combine(solve(gradients.gram(), step.losses)),
        taskWeights: new Array<number>(taskCount).fill(1),
      }),
    };
  },
});
