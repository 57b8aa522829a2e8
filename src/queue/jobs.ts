/**
 * A queued bench's jobs: one per run, identified by the run's config hash, so enqueueing the same run
 * twice adds nothing and a finished run is never trained again. A job carries ids, the resolved config and
 * progress; never weights.
 */
import path from 'node:path';
import type { JobsOptions } from 'bullmq';
import { stringify } from 'yaml';
import type { LoadedConfig } from '../config/load.js';

export interface RunJobData {
  /** The bench folder, relative to the run store. */
  readonly bench: string;
  /** The run folder, relative to the run store. */
  readonly run: string;
  /** The bench row (method label, with the grid point) and seed. */
  readonly label: string;
  readonly seed: number;
  /** Content hash of the resolved config; the job id is made of it. */
  readonly hash: string;
  /** The resolved config (YAML), self-contained: it extends nothing. */
  readonly config: string;
}

/**
 * A job's config as YAML. Paths a config file set are absolute by now; the cache folder left at its
 * default (still relative) is dropped, so each worker decodes generated data into its own default folder,
 * as a local bench does, rather than into a folder beside every row's inputs in the run store.
 */
export function jobConfigText(loaded: LoadedConfig): string {
  const config = structuredClone(loaded.config);
  const output: { cacheDir?: string } = config.output;
  if (output.cacheDir !== undefined && !path.isAbsolute(output.cacheDir)) delete output.cacheDir;
  return `# mtlzoo resolved config, hash ${loaded.hash}\n${stringify(config)}`;
}

export interface RunJobResult {
  readonly configHash: string;
  readonly steps: number;
  readonly testedStep: number;
  readonly weightsSha256: string;
  /** Where it finished. */
  readonly host: string;
}

/** What a worker reports while it trains a run. */
export interface RunJobProgress {
  readonly step: number;
  readonly steps: number;
  readonly loss?: number;
  /** Estimated milliseconds to the last step (training only; the test follows). */
  readonly etaMs?: number;
  /** The step the current attempt started from (0, or a checkpoint's). */
  readonly startStep: number;
  readonly host: string;
  readonly pid: number;
}

/**
 * The job id of a run: its config hash, prefixed, because BullMQ refuses ids that read as integers, and
 * a 16-hex-digit hash is made of decimal digits only about once in 2,000 runs.
 */
export function jobIdOf(hash: string): string {
  return `run-${hash}`;
}

/** Attempts before a job is marked failed; each retry resumes from the run's last checkpoint. */
export const JOB_ATTEMPTS = 3;

export const JOB_OPTIONS: JobsOptions = {
  attempts: JOB_ATTEMPTS,
  // 10 s, 20 s…: long enough for a lost mount or a full disk to be noticed, short for a bench.
  backoff: { type: 'exponential', delay: 10_000 },
  // Finished and failed jobs stay: they are the bench's record until it is collected.
  removeOnComplete: false,
  removeOnFail: false,
};
