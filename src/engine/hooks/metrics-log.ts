/** Appends train records (every `train.logEvery` steps and at the last) and evaluations to metrics.jsonl. */
import type { TrainerHook } from '../hooks.js';

export function metricsLogHook(): TrainerHook {
  return {
    name: 'metrics-log',
    async afterStep(record, { run, loaded }) {
      const { logEvery, steps } = loaded.config.train;
      if (record.step % logEvery === 0 || record.step === steps) await run.appendMetrics(record);
    },
    async evaluated(record, { run }) {
      await run.appendMetrics(record);
    },
  };
}
