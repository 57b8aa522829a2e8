import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { softmax } from '../../src/weighting/adam.js';

/**
 * Dynamic Weight Average, "End-to-End Multi-Task Learning with Attention" (Liu et al., CVPR 2019). A task's
 * weight follows the rate its loss fell over the last two periods: w = K · softmax(r / T) with
 * r_t = L̄_t(e−1) / L̄_t(e−2), L̄ the mean loss of a period; weight 1 in the first two periods. The paper's
 * period is an epoch; mtlzoo samples triplets without epochs, so a period is `window` steps.
 */
export const dwaWeighting = definePlugin({
  kind: 'weighting',
  name: 'dwa',
  version: '1.0.0',
  description: 'Dynamic weight average (Liu et al. 2019): weights follow how fast each task loss falls',
  options: z.strictObject({
    /** Softmax temperature (paper: 2). */
    temperature: z.number().positive().default(2),
    /** Steps per period, mtlzoo's stand-in for the paper's epoch. */
    window: z.int().positive().default(20),
  }),
  create: ({ temperature, window }, { taskCount }) => {
    // Mean loss of the last two finished periods (oldest first), and the running sum of the current one.
    let finished: number[][] = [];
    let sum = new Array<number>(taskCount).fill(0);
    return {
      uses: 'losses',
      weights(step) {
        const [before, last] = finished;
        const weights =
          before && last
            ? softmax(last.map((l, t) => l / Math.max(before[t]!, 1e-8) / temperature)).map(
                (w) => w * taskCount,
              )
            : new Array<number>(taskCount).fill(1);
        sum = sum.map((s, t) => s + step.losses[t]!);
        if ((step.step + 1) % window === 0) {
          finished = [...finished, sum.map((s) => s / window)].slice(-2);
          sum = new Array<number>(taskCount).fill(0);
        }
        return weights;
      },
      state: () => ({ values: { finished, sum } }),
      restore(state) {
        const values = state.values as { finished: number[][]; sum: number[] };
        finished = values.finished.map((p) => [...p]);
        sum = [...values.sum];
      },
    };
  },
});
