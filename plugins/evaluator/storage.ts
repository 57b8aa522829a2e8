/** Storage costs from the method's parameter report: what a method costs beside what it scores. */
import { z } from 'zod';
import type { EvaluationContext, Metric, ParameterReport } from '../../src/kinds/index.js';
import { definePlugin } from '../../src/plugin/define.js';

/** Metric name and the report field it shows. */
const STORAGE_METRICS: readonly (readonly [string, keyof ParameterReport])[] = [
  ['params.total', 'totalParams'],
  ['params.shared', 'sharedParams'],
  ['params.per-task', 'paramsPerTask'],
  ['bytes', 'bytes'],
  ['gallery-passes', 'galleryPasses'],
];

export const storageEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'storage',
  version: '1.0.0',
  description: 'Parameters (total, shared, per task), checkpoint bytes and forward passes per gallery image',
  options: z.strictObject({}),
  create: () => ({
    metricNames: STORAGE_METRICS.map(([name]) => name),
    evaluate(context: EvaluationContext): Promise<Metric[]> {
      // Costs: lower is better.
      return Promise.resolve(
        STORAGE_METRICS.map(([name, field]): Metric => ({
          name,
          value: context.report[field],
          higherIsBetter: false,
        })),
      );
    },
  }),
});
