/** A trainer hook that shows progress with ETA and the current loss, and logs every `logEvery` steps. */
import type { Logger } from '../plugin/types.js';
import type { TrainerHooks } from '../engine/trainer.js';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

export function progressHook(log: Logger, totalSteps: number, logEvery: number): TrainerHooks {
  const started = performance.now();
  let firstStep: number | undefined;
  return {
    stepEnd(record) {
      firstStep ??= record.step - 1;
      const done = record.step - firstStep;
      const eta = ((performance.now() - started) / done) * (totalSteps - record.step);
      const line = `step ${record.step}/${totalSteps}  loss ${record.loss.toFixed(4)}  lr ${record.lr.toPrecision(3)}  ${record.ms.toFixed(0)} ms/step  ETA ${formatDuration(eta)}`;
      if (record.step % logEvery === 0 || record.step === totalSteps) log.info(line);
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
