/**
 * Step time for the summary. The first WARMUP_STEPS of every process compile kernels and warm caches, so
 * they are left out; the totals are hook state, so a resumed run's summary averages all its sessions.
 */
import type { TrainerHook } from '../hooks.js';

/** Steps excluded from timing at the start of every process. */
export const WARMUP_STEPS = 2;

export interface TimingHook extends TrainerHook {
  /** Mean ms per timed step; NaN when no step was timed. */
  msPerStep(): number;
}

export function timingHook(): TimingHook {
  let ms = 0;
  let steps = 0;
  return {
    name: 'timing',
    afterStep(record, { startStep }) {
      if (record.step - startStep > WARMUP_STEPS) {
        ms += record.ms;
        steps += 1;
      }
    },
    msPerStep: () => (steps > 0 ? ms / steps : Number.NaN),
    state: () => ({ values: { ms, steps } }),
    restore(state) {
      ({ ms, steps } = state.values as { ms: number; steps: number });
    },
  };
}
