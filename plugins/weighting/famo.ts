import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { HostAdam, softmax, softmaxVjp, type AdamState } from '../../src/weighting/adam.js';

/**
 * FAMO, "Fast Adaptive Multitask Optimization" (Liu et al., NeurIPS 2023). Logits w give z = softmax(w);
 * the objective Σ_t z_t log(L_t − m_t + 1e-8) / c, c = Σ_t z_t / (L_t − m_t + 1e-8), weighs task t's loss
 * by z_t / (c (L_t − m_t + 1e-8)) (the weights sum to 1). After the update the losses are measured again on
 * the same batch, and w takes one Adam step (learning rate `wLr`, L2 decay `gamma`, as the official code)
 * along the softmax's gradient applied to the fall of each log loss. m (the tasks' minimal losses) is 0 for
 * triplet losses, as in LibMTL.
 */
export const famoWeighting = definePlugin({
  kind: 'weighting',
  name: 'famo',
  version: '1.0.0',
  description: 'FAMO (Liu et al. 2023): log-loss weights adapted so every task loss falls at the same rate',
  options: z.strictObject({
    /** Learning rate of the logits (paper: 0.025). */
    wLr: z.number().positive().default(0.025),
    /** Weight decay of the logits (paper: 1e-3). */
    gamma: z.number().nonnegative().default(1e-3),
  }),
  create: ({ wLr, gamma }, { taskCount }) => {
    let logits = new Array<number>(taskCount).fill(0);
    const adam = new HostAdam(taskCount, { weightDecay: gamma });
    const shifted = (losses: readonly number[]) => losses.map((l) => l + 1e-8);
    return {
      uses: 'losses',
      needsLossesAfterUpdate: true,
      weights(step) {
        const z = softmax(logits);
        const d = shifted(step.losses);
        const c = z.reduce((s, v, t) => s + v / d[t]!, 0);
        return z.map((v, t) => v / (c * d[t]!));
      },
      afterUpdate(lossesAfter, step) {
        const before = shifted(step.losses);
        const after = shifted(lossesAfter);
        const fall = before.map((b, t) => Math.log(b) - Math.log(after[t]!));
        logits = adam.update(logits, softmaxVjp(logits, fall), wLr);
      },
      state: () => ({ values: { logits, adam: adam.state() } }),
      restore(state) {
        const values = state.values as { logits: number[]; adam: AdamState };
        logits = [...values.logits];
        adam.restore(values.adam);
      },
    };
  },
});
