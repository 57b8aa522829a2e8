/** Time left in a run, and how durations are shown. */
/** Time left from the steps seen so far, timed from the end of the first one seen (which includes warm-up). */
export function etaTracker(): (step: number, steps: number) => number {
  let first: { step: number; time: number } | undefined;
  return (step, steps) => {
    first ??= { step, time: performance.now() };
    const done = step - first.step;
    return done > 0 ? ((performance.now() - first.time) / done) * (steps - step) : Number.NaN;
  };
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}
