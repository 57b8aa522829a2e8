import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import { shuffled } from '../../src/weighting/random.js';

/**
 * PCGrad, "Gradient Surgery for Multi-Task Learning" (Yu et al., NeurIPS 2020). Each task's gradient is
 * projected, against the tasks in a random order, onto the normal plane of every task gradient it conflicts
 * with (negative dot product); the update is the sum of the projected gradients. As LibMTL and the official
 * code, the order is drawn afresh for each task and includes the task itself, and the projection divides by
 * ‖g_j‖² + 1e-8. Projections stay in the span of the task gradients, so they are tracked as coefficients on
 * the original gradients, from the Gram matrix.
 */
export const pcgradWeighting = definePlugin({
  kind: 'weighting',
  name: 'pcgrad',
  version: '1.0.0',
  description: 'PCGrad (Yu et al. 2020): project each task gradient off the ones it conflicts with, then sum',
  options: z.strictObject({}),
  create: (_options, { taskCount }) => ({
    uses: 'gradients',
    update(gradients, step) {
      const gram = gradients.gram();
      const tasks = Array.from({ length: taskCount }, (_, t) => t);
      // coefficients[i][k]: the projected gradient of task i is Σ_k coefficients[i][k] g_k.
      const coefficients = tasks.map((i) => tasks.map((k): number => (k === i ? 1 : 0)));
      for (const i of tasks) {
        const c = coefficients[i]!;
        for (const j of shuffled(tasks, step.random)) {
          const dot = c.reduce((s, v, k) => s + v * gram[k]![j]!, 0);
          if (dot < 0) c[j]! -= dot / (gram[j]![j]! + 1e-8);
        }
      }
      return {
        shared: gradients.combine(tasks.map((k) => coefficients.reduce((s, c) => s + c[k]!, 0))),
        taskWeights: new Array<number>(taskCount).fill(1),
      };
    },
  }),
});
