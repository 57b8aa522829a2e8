import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';

/** Equal weighting (LibMTL's EW): every task's mean loss weighs the same. mtlzoo's default. */
export const equalWeighting = definePlugin({
  kind: 'weighting',
  name: 'equal',
  version: '1.0.0',
  description: "Every task weighs the same: the mean over tasks of each task's mean loss (the default)",
  options: z.strictObject({}),
  create: (_options, { taskCount }) => ({
    uses: 'losses',
    weights: () => new Array<number>(taskCount).fill(1),
  }),
});
