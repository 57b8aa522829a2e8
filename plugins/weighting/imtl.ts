import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { HostAdam, type AdamState } from '../../src/weighting/adam.js';
import { solveLinear } from '../../src/weighting/linalg.js';

/**
 * IMTL, "Towards Impartial Multi-task Learning" (Liu et al., ICLR 2021), the hybrid of IMTL-L and IMTL-G as
 * LibMTL runs it. IMTL-L: each task's loss becomes e^{s_t} L_t − s_t with a learned scale s_t (from 0, by
 * Adam at the training learning rate unless `lr` is set). IMTL-G: on the scaled gradients ĝ_t with unit
 * directions u_t, the update Σ_t α_t ĝ_t (Σα = 1) has equal projections on every u_t: α_{2..K} = ĝ_1 Uᵀ (D Uᵀ)⁻¹ with D, U the rows ĝ_1 − ĝ_t and u_1 − u_t, α_1 =
 * 1 − Σ α_{2..K}. Task-specific parameters get their scaled loss's gradient e^{s_t} ∇L_t (LibMTL).
 */
export const imtlWeighting = definePlugin({
  kind: 'weighting',
  name: 'imtl',
  version: '1.0.0',
  description:
    'IMTL (Liu et al. 2021): an update with equal projections on every task gradient, plus learned loss scales',
  options: z.strictObject({
    /** IMTL-L's learned loss scales (false: IMTL-G alone). */
    lossScale: z.boolean().default(true),
    /** Adam learning rate of the loss scales (default: the training learning rate at each step). */
    lr: z.number().positive().optional(),
  }),
  create: ({ lossScale, lr }, { taskCount }) => {
    let scales = new Array<number>(taskCount).fill(0);
    const adam = new HostAdam(taskCount);
    const K = taskCount;
    return {
      uses: 'gradients',
      update(gradients, step) {
        const factor = scales.map(Math.exp);
        if (lossScale) {
          // ∂/∂s_t (e^{s_t} L_t − s_t), ÷ K as the engine scales the objective.
          const gradient = factor.map((f, t) => (f * step.losses[t]! - 1) / K);
          scales = adam.update(scales, gradient, lr ?? step.lr);
        }
        const raw = gradients.gram();
        const G = raw.map((row, s) => row.map((v, t) => v * factor[s]! * factor[t]!));
        const norm = G.map((row, t) => Math.sqrt(row[t]!));
        // A task with a zero gradient (every triplet met the margin) has no direction to project on.
        const tasks = norm.flatMap((n, t) => (n > 0 ? [t] : []));
        const alpha = new Array<number>(K).fill(0);
        if (tasks.length > 0) {
          const [first, ...rest] = tasks as [number, ...number[]];
          // ĝ_a · u_b = G[a][b] / ‖ĝ_b‖.
          const gu = (a: number, b: number) => G[a]![b]! / norm[b]!;
          const DU = rest.map((a) =>
            rest.map((b) => gu(first, first) - gu(first, b) - gu(a, first) + gu(a, b)),
          );
          const g1U = rest.map((b) => gu(first, first) - gu(first, b));
          // α_rest (row) = g1U (DU)⁻¹, i.e. (DU)ᵀ α_restᵀ = g1Uᵀ; parallel gradients leave it singular, and
          // then every split of the weight among them gives the same update: equal shares.
          let alphaRest: number[];
          try {
            alphaRest = solveLinear(
              rest.map((_, c) => DU.map((row) => row[c]!)),
              g1U,
            );
          } catch {
            alphaRest = rest.map(() => 1 / tasks.length);
          }
          alpha[first] = 1 - alphaRest.reduce((a, b) => a + b, 0);
          rest.forEach((t, i) => (alpha[t] = alphaRest[i]!));
        }
        return {
          shared: gradients.combine(alpha.map((a, t) => a * factor[t]!)),
          taskWeights: factor,
        };
      },
      ...(lossScale
        ? {
            state: () => ({ values: { scales, adam: adam.state() } }),
            restore(state: { values?: unknown }) {
              const values = state.values as { scales: number[]; adam: AdamState };
              scales = [...values.scales];
              adam.restore(values.adam);
            },
          }
        : {}),
    };
  },
});
