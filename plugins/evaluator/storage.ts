/** Storage costs from the method's parameter report: what a method costs beside what it scores. */
import { z } from 'zod';
import type { EvaluationContext, Metric } from '../../src/kinds/index.js';
import { definePlugin } from '../../src/plugin/define.js';

export const storageEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'storage',
  version: '1.0.0',
  description: 'Parameters (total, shared, per task), checkpoint bytes and forward passes per gallery image',
  options: z.strictObject({}),
  create: () => ({
    evaluate(context: EvaluationContext): Promise<Metric[]> {
      const { report } = context;
      const metric = (name: string, value: number): Metric => ({ name, value, higherIsBetter: false });
      return Promise.resolve([
        metric('params.total', report.totalParams),
        metric('params.shared', report.sharedParams),
        metric('params.per-task', report.paramsPerTask),
        metric('bytes', report.bytes),
        metric('gallery-passes', report.galleryPasses),
      ]);
    },
  }),
});
