/** A trainer hook that shows progress with ETA and the current loss, and logs a line every `logEvery` steps. */
import type { Logger } from '../plugin/types.js';
import type { TrainerHook } from '../engine/hooks.js';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

/**
 * `logEvery` defaults to the run's `train.logEvery`; the step count comes from the run too, so the same hook
 * serves fresh and resumed runs.
 */
export function progressHook(log: Logger, logEvery?: number): TrainerHook {
  let first: { step: number; time: number } | undefined;
  return {
    name: 'progress',
    afterStep(record, { loaded }) {
      const { steps, logEvery: configured } = loaded.config.train;
      // ETA from the steps seen so far, timed from the end of the first one (which includes warm-up).
      first ??= { step: record.step, time: performance.now() };
      const done = record.step - first.step;
      const eta = done > 0 ? ((performance.now() - first.time) / done) * (steps - record.step) : Number.NaN;
      const line = `step ${record.step}/${steps}  loss ${record.loss.toFixed(4)}  lr ${record.lr.toPrecision(3)}  ${record.ms.toFixed(0)} ms/step  ETA ${formatDuration(eta)}`;
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
