import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { shuffled } from '../../src/weighting/random.js';

/**
 * Gradient Vaccine, "Gradient Vaccine: Investigating and Improving Multi-task Optimization in Massively
 * Multilingual Models" (Wang et al., ICLR 2021). For each task i and every other task j (random order), when
 * the cosine ρ between i's (adjusted) gradient and j's falls below the target ρ̂_ij, j's gradient is added
 * with the weight that lifts the cosine to exactly ρ̂_ij:
 * ‖g_i‖ (ρ̂ √(1−ρ²) − ρ √(1−ρ̂²)) / (‖g_j‖ √(1−ρ̂²)); ρ̂_ij then moves towards ρ by an EMA with rate `beta`.
 * `groups`: the whole shared model at once, or each shared variable on its own (LibMTL's group types 0 and
 * 2). As LibMTL, the update is the sum of the adjusted gradients.
 */
export const gradvacWeighting = definePlugin({
  kind: 'weighting',
  name: 'gradvac',
  version: '1.0.0',
  description: 'GradVac (Wang et al. 2021): lift each pair of task gradients to an EMA target cosine',
  options: z.strictObject({
    /** EMA rate of the target cosines (LibMTL's default: 0.5). */
    beta: z.number().min(0).max(1).default(0.5),
    /** One group for all shared parameters, or one per shared variable. */
    groups: z.enum(['model', 'variable']).default('model'),
  }),
  create: ({ beta, groups }, { taskCount }) => {
    // targets[i][j][k]: target cosine of tasks i, j in group k (0 to start, as LibMTL).
    let targets: number[][][] | null = null;
    return {
      uses: 'gradients',
      update(gradients, step) {
        const grams = groups === 'model' ? [gradients.gram()] : gradients.segmentGrams();
        targets ??= Array.from({ length: taskCount }, () =>
          Array.from({ length: taskCount }, () => new Array<number>(grams.length).fill(0)),
        );
        const tasks = Array.from({ length: taskCount }, (_, t) => t);
        // coefficients[k][i][m]: task i's adjusted gradient in group k is Σ_m coefficients[k][i][m] g_m.
        const coefficients = grams.map(() => tasks.map((i) => tasks.map((m): number => (m === i ? 1 : 0))));
        for (const i of tasks) {
          for (const j of shuffled(
            tasks.filter((t) => t !== i),
            step.random,
          )) {
            grams.forEach((gram, k) => {
              const c = coefficients[k]![i]!;
              const gc = tasks.map((m) => c.reduce((s, v, n) => s + v * gram[n]![m]!, 0));
              const normI = Math.sqrt(
                Math.max(
                  c.reduce((s, v, m) => s + v * gc[m]!, 0),
                  0,
                ),
              );
              const normJ = Math.sqrt(gram[j]![j]!);
              const rho = gc[j]! / (normI * normJ + 1e-8);
              const target = targets![i]![j]![k]!;
              if (rho < target) {
                const w =
                  (normI *
                    (target * Math.sqrt(Math.max(0, 1 - rho * rho)) - rho * Math.sqrt(1 - target * target))) /
                  (normJ * Math.sqrt(1 - target * target) + 1e-8);
                c[j]! += w;
              }
              targets![i]![j]![k] = (1 - beta) * target + beta * rho;
            });
          }
        }
        const sums = coefficients.map((perTask) => tasks.map((m) => perTask.reduce((s, c) => s + c[m]!, 0)));
        return {
          shared: groups === 'model' ? gradients.combine(sums[0]!) : gradients.combineBySegment(sums),
          taskWeights: new Array<number>(taskCount).fill(1),
        };
      },
      state: () => ({ values: { targets } }),
      restore(state) {
        targets = (state.values as { targets: number[][][] | null }).targets;
      },
    };
  },
});
