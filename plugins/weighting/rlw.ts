import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { softmax } from '../../src/weighting/adam.js';

/**
 * Random Loss Weighting, "Reasonable Effectiveness of Random Weighting: A Litmus Test for Multi-Task
 * Learning" (Lin et al., TMLR 2022): at every step, weights softmax(λ̃) with λ̃ ~ N(0, I), drawn from the
 * step's seeded generator (so a resumed run draws the same). As LibMTL, the weights sum to 1.
 */
export const rlwWeighting = definePlugin({
  kind: 'weighting',
  name: 'rlw',
  version: '1.0.0',
  description: 'Random loss weighting (Lin et al. 2022): fresh softmax-of-normal weights every step',
  options: z.strictObject({}),
  create: (_options, { taskCount }) => ({
    uses: 'losses',
    weights: (step) => softmax(Array.from({ length: taskCount }, () => step.random.normal())),
  }),
});
