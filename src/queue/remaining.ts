/**
 * What is left of a queued bench, in training steps and, where its row has been measured, in worker time:
 * each unfinished run's steps to go times its row's measured milliseconds per step (the median over the
 * row's finished runs and the runs training now). A row none of whose runs has trained yet has no rate, so
 * its runs are counted but not timed; failed runs and runs the queue does not hold are left out (nothing
 * happens to them until someone acts).
 */
import type { JobStatus } from './bench.js';

export interface RemainingWork {
  /** Runs waiting or training. */
  readonly runs: number;
  /** Their training steps still to go. */
  readonly steps: number;
  /** Those of them whose row has a measured rate, and their training time at it (one worker's). */
  readonly timedRuns: number;
  readonly timedMs: number;
  /** Rows with runs left and no measured rate yet. */
  readonly unmeasured: readonly string[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function remainingWork(jobs: readonly JobStatus[]): RemainingWork {
  const rates = new Map<string, number[]>();
  for (const job of jobs)
    if (job.msPerStep !== undefined) rates.set(job.label, [...(rates.get(job.label) ?? []), job.msPerStep]);
  let runs = 0;
  let steps = 0;
  let timedRuns = 0;
  let timedMs = 0;
  const unmeasured: string[] = [];
  for (const job of jobs) {
    if (job.state === 'completed' || job.state === 'failed' || job.state === 'unknown') continue;
    const left = Math.max(0, job.steps - (job.progress?.step ?? 0));
    runs += 1;
    steps += left;
    const rate = rates.get(job.label);
    if (rate) {
      timedRuns += 1;
      timedMs += left * median(rate);
    } else if (!unmeasured.includes(job.label)) unmeasured.push(job.label);
  }
  return { runs, steps, timedRuns, timedMs, unmeasured };
}
