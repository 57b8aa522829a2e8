/** A trainer hook that shows progress with ETA and the current loss, and logs a line every `logEvery` steps. */
import type { Logger } from '../plugin/types.js';
import type { TrainerHook } from '../engine/hooks.js';
import { etaTracker, formatDuration } from '../util/eta.js';

/**
 * `logEvery` defaults to the run's `train.logEvery`; the step count comes from the run too, so the same hook
 * serves fresh and resumed runs.
 */
export function progressHook(log: Logger, logEvery?: number): TrainerHook {
  const eta = etaTracker();
  return {
    name: 'progress',
    afterStep(record, { loaded }) {
      const { steps, logEvery: configured } = loaded.config.train;
      const line = `step ${record.step}/${steps}  loss ${record.loss.toFixed(4)}  lr ${record.lr.toPrecision(3)}  ${record.ms.toFixed(0)} ms/step  ETA ${formatDuration(eta(record.step, steps))}`;
      if (record.step % (logEvery ?? configured) === 0 || record.step === steps) log.info(line);
      else log.progress(line);
    },
    evaluated(record) {
      const summary = record.metrics
        .filter((m) => m.task === undefined && !m.name.startsWith('time.') && !m.name.startsWith('params.'))
        .slice(0, 4)
        .map((m) => `${m.name} ${m.value.toFixed(4)}`)
        .join('  ');
      log.info(`${record.split} @ step ${record.step}: ${summary}`);
    },
  };
}
