/**
 * When `last` (weights, optimiser and hook states) is written: every `train.checkpointEvery` steps, after
 * every validation, once `train.checkpointMinutes` of wall time have passed since the last write, and at
 * the last step. (An interrupted run also writes it before stopping; see the trainer.)
 */
import type { TrainerHook } from '../hooks.js';

export function checkpointHook(): TrainerHook {
  let savedAt = performance.now();
  let evaluatedAt = -1;
  return {
    name: 'checkpointing',
    start() {
      savedAt = performance.now();
    },
    evaluated(record) {
      if (record.split === 'val') evaluatedAt = record.step;
    },
    checkpointed(event) {
      if (event.which === 'last') savedAt = performance.now();
    },
    async afterStep(record, context) {
      const { steps, checkpointEvery, checkpointMinutes } = context.loaded.config.train;
      const due =
        record.step === steps ||
        evaluatedAt === record.step ||
        (checkpointEvery > 0 && record.step % checkpointEvery === 0) ||
        (checkpointMinutes > 0 && performance.now() - savedAt >= checkpointMinutes * 60_000);
      if (due) await context.saveCheckpoint('last', record.step);
    },
  };
}
