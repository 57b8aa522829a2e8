/**
 * Validation and best selection: every `train.evalEvery` steps and at the last, the validation split is
 * evaluated; the metric `train.selectBy` (over all tasks) picks the `best` checkpoint, written at the first
 * evaluation and whenever the metric strictly improves in the direction the metric declares. The best
 * score so far is hook state, so a resumed run keeps the same `best`.
 */
import { MtlzooError } from '../../errors.js';
import type { Metric } from '../../kinds/evaluator.js';
import type { TrainerHook } from '../hooks.js';

/** The metric over all tasks named `name`, or undefined. */
export function overallMetric(metrics: readonly Metric[], name: string): Metric | undefined {
  return metrics.find((m) => m.name === name && m.task === undefined);
}

export function validationHook(): TrainerHook {
  // null until the first evaluation (JSON has no NaN).
  let best: number | null = null;
  return {
    name: 'validation',
    async afterStep(record, context) {
      const { evalEvery, steps, selectBy } = context.loaded.config.train;
      if (evalEvery === 0 || (record.step % evalEvery !== 0 && record.step !== steps)) return;
      const { metrics } = await context.evaluate('val', record.step);
      const selected = overallMetric(metrics, selectBy);
      if (!selected) {
        throw new MtlzooError(
          'USAGE',
          `train.selectBy: no validation metric "${selectBy}" over all tasks; evaluators gave ${[...new Set(metrics.map((m) => m.name))].join(', ')}`,
          2,
        );
      }
      if (best === null || (selected.higherIsBetter ? selected.value > best : selected.value < best)) {
        best = selected.value;
        await context.saveCheckpoint('best', record.step, metrics);
      }
    },
    state: () => ({ values: { best } }),
    restore(state) {
      ({ best } = state.values as { best: number | null });
    },
  };
}
