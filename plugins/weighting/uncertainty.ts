import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { HostAdam, type AdamState } from '../../src/weighting/adam.js';

/**
 * Uncertainty weighting, "Multi-Task Learning Using Uncertainty to Weigh Losses for Scene Geometry and
 * Semantics" (Kendall et al., CVPR 2018). Each task t has a learned log-variance s_t; the objective is
 * Σ_t L_t / (2 e^{s_t}) + s_t / 2 (LibMTL's UW, s initialised to −0.5), so the network sees weights
 * 1 / (2 e^{s_t}). The s_t learn with the network, from the same step's losses, by Adam at the training
 * learning rate unless `lr` is set.
 */
export const uncertaintyWeighting = definePlugin({
  kind: 'weighting',
  name: 'uncertainty',
  version: '1.0.0',
  description: 'Uncertainty weighting (Kendall et al. 2018): learned log-variances weigh each task loss',
  options: z.strictObject({
    /** Initial log-variance s_t of every task (LibMTL: −0.5). */
    init: z.number().default(-0.5),
    /** Adam learning rate of the log-variances (default: the training learning rate at each step). */
    lr: z.number().positive().optional(),
  }),
  create: (options, { taskCount }) => {
    let logVariance = new Array<number>(taskCount).fill(options.init);
    const adam = new HostAdam(taskCount);
    return {
      uses: 'losses',
      weights(step) {
        const weights = logVariance.map((s) => 1 / (2 * Math.exp(s)));
        // ∂/∂s_t of the objective (÷ K, as the engine scales it): −L_t / (2 e^{s_t}) + ½.
        const gradient = logVariance.map((s, t) => (-step.losses[t]! / (2 * Math.exp(s)) + 0.5) / taskCount);
        logVariance = adam.update(logVariance, gradient, options.lr ?? step.lr);
        return weights;
      },
      state: () => ({ values: { logVariance, adam: adam.state() } }),
      restore(state) {
        const values = state.values as { logVariance: number[]; adam: AdamState };
        logVariance = [...values.logVariance];
        adam.restore(values.adam);
      },
    };
  },
});
