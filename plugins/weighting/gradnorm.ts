import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { HostAdam, softmax, softmaxVjp, type AdamState } from '../../src/weighting/adam.js';

/**
 * GradNorm, "GradNorm: Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks"
 * (Chen et al., ICML 2018). Weights w = K · softmax(s) (LibMTL's parametrisation, which keeps Σw = K as the
 * paper's renormalisation does); with G_t = w_t ‖g_t‖ on the shared parameters, Ḡ their mean and
 * r_t = L̃_t / mean(L̃), L̃_t = L_t / L_t(0), the loss Σ_t |G_t − Ḡ r_t^α| (target held constant) moves s by
 * Adam at the training learning rate unless `lr` is set. The shared update is Σ_t w_t g_t; task-specific
 * parameters get their own task's gradient (LibMTL). L(0) is the first step's losses, as the paper's
 * initial loss (LibMTL averages its first epoch instead).
 */
export const gradnormWeighting = definePlugin({
  kind: 'weighting',
  name: 'gradnorm',
  version: '1.0.0',
  description:
    'GradNorm (Chen et al. 2018): learn weights that equalise gradient norms at training-rate speed',
  options: z.strictObject({
    /** Strength of the restoring force towards a common training rate (paper: 1.5). */
    alpha: z.number().nonnegative().default(1.5),
    /** Adam learning rate of the weights' logits (default: the training learning rate at each step). */
    lr: z.number().positive().optional(),
  }),
  create: ({ alpha, lr }, { taskCount }) => {
    let logits = new Array<number>(taskCount).fill(1);
    let initial: number[] | null = null;
    const adam = new HostAdam(taskCount);
    return {
      uses: 'gradients',
      update(gradients, step) {
        initial ??= [...step.losses];
        const weights = softmax(logits).map((z) => z * taskCount);
        const norms = gradients.gram().map((row, t) => Math.sqrt(row[t]!));
        const G = weights.map((w, t) => w * norms[t]!);
        const meanG = G.reduce((a, b) => a + b, 0) / taskCount;
        const ratio = step.losses.map((l, t) => l / Math.max(initial![t]!, 1e-8));
        const meanRatio = ratio.reduce((a, b) => a + b, 0) / taskCount;
        const target = ratio.map((r) => meanG * (r / meanRatio) ** alpha);
        // ∂ Σ|G_t − target_t| / ∂w_t = sign(G_t − target_t) ‖g_t‖; then through w = K softmax(s).
        const dWeights = G.map((g, t) => Math.sign(g - target[t]!) * norms[t]! * taskCount);
        logits = adam.update(logits, softmaxVjp(logits, dWeights), lr ?? step.lr);
        return { shared: gradients.combine(weights), taskWeights: new Array<number>(taskCount).fill(1) };
      },
      state: () => ({ values: { logits, initial, adam: adam.state() } }),
      restore(state) {
        const values = state.values as { logits: number[]; initial: number[] | null; adam: AdamState };
        logits = [...values.logits];
        initial = values.initial && [...values.initial];
        adam.restore(values.adam);
      },
    };
  },
});
