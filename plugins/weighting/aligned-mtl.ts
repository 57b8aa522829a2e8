import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { symmetricEigen } from '../../src/weighting/linalg.js';

/** float32's machine epsilon: the rank cut-off of the official code (torch.finfo().eps). */
const FLOAT32_EPSILON = 2 ** -23;

/**
 * The alignment B (row i: aligned gradient i's coefficients on the task gradients) from the Gram matrix:
 * √λ_min V Λ^{-1/2} Vᵀ over the eigenpairs above the rank cut-off.
 */
export function alignment(gram: readonly (readonly number[])[], taskCount: number): number[][] {
  const { values, vectors } = symmetricEigen(gram);
  const tolerance = Math.max(...values) * taskCount * FLOAT32_EPSILON;
  const kept = values.flatMap((v, i) => (v > tolerance ? [i] : []));
  if (kept.length === 0) return gram.map((row) => row.map(() => 0)); // every gradient is zero
  const smallest = Math.sqrt(values[kept.at(-1)!]!);
  return vectors.map((_, r) =>
    vectors.map((__, c) =>
      kept.reduce((s, i) => s + (smallest * vectors[r]![i]! * vectors[c]![i]!) / Math.sqrt(values[i]!), 0),
    ),
  );
}

/**
 * Aligned-MTL, "Independent Component Alignment for Multi-Task Learning" (Senushkin et al., CVPR 2023). The
 * task gradients are aligned so their matrix has condition number 1: with the Gram matrix's eigenpairs
 * (λ, V) above the rank cut-off, B = √λ_min V Λ^{-1/2} Vᵀ, and the update is Σ_t α_t g_t with α = B's
 * column sums (the aligned gradients summed, as the official code and LibMTL).
 */
export const alignedMtlWeighting = definePlugin({
  kind: 'weighting',
  name: 'aligned-mtl',
  version: '1.0.0',
  description: 'Aligned-MTL (Senushkin et al. 2023): align task gradients to a condition number of 1',
  options: z.strictObject({}),
  create: (_options, { taskCount }) => ({
    uses: 'gradients',
    update(gradients) {
      const { values, vectors } = symmetricEigen(gradients.gram());
      const tolerance = Math.max(...values) * taskCount * FLOAT32_EPSILON;
      const kept = values.flatMap((v, i) => (v > tolerance ? [i] : []));
      const smallest = Math.sqrt(values[kept.at(-1)!]!);
      const B = vectors.map((_, r) =>
        vectors.map((__, c) =>
          kept.reduce(
            (s, i) => s + (smallest * vectors[r]![i]! * vectors[c]![i]!) / Math.sqrt(values[i]!),
            0,
          ),
        ),
      );
      const alpha = vectors.map((_, c) => B.reduce((s, row) => s + row[c]!, 0));
      return { shared: gradients.combine(alpha), taskWeights: new Array<number>(taskCount).fill(1) };
    },
  }),
});
