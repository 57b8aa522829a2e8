/**
 * example-weighting: each task weighs in proportion to how little of its loss it has shed, L_t / L_t(0)
 * (the inverse training rate GradNorm balances), normalised to sum to the number of tasks. A loss-based
 * strategy with state: the first step's losses, kept across a resume through state()/restore().
 */
import { definePlugin, z } from 'mtlzoo';

export const exampleWeighting = definePlugin({
  kind: 'weighting',
  name: 'example-weighting',
  version: '0.1.0',
  description: 'weights proportional to each task loss relative to its first value (slow tasks weigh more)',
  options: z.strictObject({
    /** Exponent on the ratio: 0 is equal weighting, larger favours the slow tasks more. */
    power: z.number().nonnegative().default(1),
  }),
  create({ power }, { taskCount }) {
    let initial: number[] | null = null;
    return {
      uses: 'losses',
      weights(step) {
        initial ??= [...step.losses];
        const ratios = step.losses.map((loss, t) => (loss / Math.max(initial![t]!, 1e-12)) ** power);
        const sum = ratios.reduce((a, b) => a + b, 0);
        return ratios.map((r) => (sum > 0 ? (taskCount * r) / sum : 1));
      },
      state: () => ({ values: { initial } }),
      restore(state) {
        initial = (state.values as { initial: number[] | null }).initial;
      },
    };
  },
});
