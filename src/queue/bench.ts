/**
 * A bench whose runs are trained by queue workers: `bench RECIPE --queue URL` writes the bench folder (its
 * plan, the runs' input configs and jobs.json) into the run store and enqueues one job per run; `bench
 * status` reads the jobs' states; `bench collect` (or the first status that sees every job done) aggregates
 * the runs' summaries through the same door as a local bench, so the results differ from a local bench's
 * only in timings, dates, hosts and folders.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Job, JobState } from 'bullmq';
import { parse } from 'yaml';
import { MtlzooError } from '../errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../plugin/types.js';
import { adoptPlan, planOf, requirePlan, type BenchPlan, type PlanChoices } from '../bench/plan.js';
import { loadRecipe, type LoadedRecipe } from '../bench/recipe.js';
import { finishBench, writeInterimResults } from '../bench/finish.js';
import type { BenchResults } from '../bench/results.js';
import { prepareRuns } from '../bench/runs.js';
import { RunDir } from '../engine/run-dir.js';
import type { TrainSummary } from '../engine/trainer.js';
import { keyHash } from '../util/hash.js';
import { FolderLock } from '../util/lock.js';
import { ensureDir, writeFileAtomic } from '../util/write.js';
import type { QueueAddress, RunQueue } from './connection.js';
import {
  JOB_OPTIONS,
  jobConfigText,
  jobIdOf,
  type RunJobData,
  type RunJobProgress,
  type RunJobResult,
} from './jobs.js';

/** The runs of a queued bench and their jobs, in the bench folder. */
export const BENCH_JOBS = 'jobs.json';
const JOBS_FORMAT = 'mtlzoo-bench-jobs/1';

export interface BenchJob {
  readonly label: string;
  readonly seed: number;
  /** The run folder, relative to the bench folder. */
  readonly folder: string;
  readonly hash: string;
  readonly id: string;
}

interface JobsFile {
  readonly format: string;
  /** The bench folder, relative to the run store. */
  readonly bench: string;
  readonly jobs: readonly BenchJob[];
}

/**
 * The folder a queued bench of `entry` gets in the store unless `--out` names one: the same for the same
 * recipe and choices, so enqueueing twice finds the first bench, and `bench status RECIPE` finds it too.
 */
export function queuedBenchDir(store: string, entry: LoadedRecipe, plan: BenchPlan): string {
  const id = keyHash({ entry: entry.name, seeds: plan.seeds, methods: plan.methods, steps: plan.steps });
  return path.join(path.resolve(store), 'bench', `${entry.name}-${id.slice(0, 8)}`);
}

export interface EnqueueOptions extends PlanChoices {
  /** The run store: the folder every worker reaches (its own path on each machine). */
  store: string;
  /** The bench folder, inside the store (default: queuedBenchDir). */
  outputDir?: string;
  /**
   * BullMQ's job priority (1 first, up to MAX_PRIORITY) for the bench's runs, given to those still waiting
   * too. Runs enqueued without one are taken before any run with one.
   */
  priority?: number;
  log: Logger;
}

/** BullMQ's largest job priority. */
export const MAX_PRIORITY = 2_097_151;

export interface EnqueueSummary {
  readonly dir: string;
  readonly jobs: readonly BenchJob[];
  /** Jobs added now. */
  readonly added: number;
  /** Failed jobs given their attempts again. */
  readonly retried: number;
  /** Waiting jobs given the bench's priority. */
  readonly reprioritised: number;
  /** Jobs already in the queue, by state. */
  readonly present: Readonly<Record<string, number>>;
}

export async function enqueueBench(
  kernel: Kernel,
  queue: RunQueue,
  address: QueueAddress,
  entry: LoadedRecipe,
  options: EnqueueOptions,
): Promise<EnqueueSummary> {
  const store = path.resolve(options.store);
  const plan = planOf(entry, options, address.shown);
  const dir = path.resolve(options.outputDir ?? queuedBenchDir(store, entry, plan));
  const bench = path.relative(store, dir);
  if (bench === '' || bench.startsWith('..') || path.isAbsolute(bench)) {
    throw new MtlzooError(
      'USAGE',
      `--out ${dir} is not inside the run store ${store} (--runs): workers find runs only there`,
      2,
    );
  }
  await ensureDir(dir);
  const lock = await FolderLock.acquire(dir, 'bench', options.log);
  try {
    await adoptPlan(dir, plan, options.log);
    const runs = await prepareRuns(kernel, entry, plan, dir);
    const jobs: BenchJob[] = runs.map((run) => ({
      label: run.label,
      seed: run.seed,
      folder: run.folder,
      hash: run.loaded.hash,
      id: jobIdOf(run.loaded.hash),
    }));
    const file: JobsFile = { format: JOBS_FORMAT, bench, jobs };
    await writeFileAtomic(path.join(dir, BENCH_JOBS), `${JSON.stringify(file, null, 2)}\n`);
    let added = 0;
    let retried = 0;
    let reprioritised = 0;
    const present: Record<string, number> = {};
    for (const [i, run] of runs.entries()) {
      const id = jobs[i]!.id;
      const existing = await queue.getJob(id);
      if (existing) {
        let state = await existing.getState();
        if (state === 'failed') {
          // Enqueueing again after fixing a failure's cause gives the job its attempts again.
          await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          retried += 1;
          continue;
        }
        const waiting = state === 'waiting' || state === 'prioritized';
        if (options.priority !== undefined && waiting && existing.priority !== options.priority) {
          await existing.changePriority({ priority: options.priority });
          reprioritised += 1;
          state = await existing.getState();
        }
        present[state] = (present[state] ?? 0) + 1;
        continue;
      }
      const data: RunJobData = {
        bench,
        run: path.join(bench, run.folder),
        label: run.label,
        seed: run.seed,
        hash: run.loaded.hash,
        config: jobConfigText(run.loaded),
      };
      // A job id that exists already (another bench enqueued the same run meanwhile) adds nothing.
      await queue.add(`${entry.name}/${run.label}/seed-${run.seed}`, data, {
        ...JOB_OPTIONS,
        jobId: id,
        ...(options.priority !== undefined ? { priority: options.priority } : {}),
      });
      added += 1;
    }
    return { dir, jobs, added, retried, reprioritised, present };
  } finally {
    lock.release();
  }
}

async function readJobs(dir: string): Promise<JobsFile> {
  const file = path.join(dir, BENCH_JOBS);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined)
    throw new MtlzooError('USAGE', `${dir} holds no ${BENCH_JOBS}: it is not a queued bench`, 2);
  try {
    const jobs = JSON.parse(text) as JobsFile;
    if (jobs.format === JOBS_FORMAT) return jobs;
  } catch {
    // reported below
  }
  throw new MtlzooError('DATA_INVALID', `${file}: not a job list (${JOBS_FORMAT}); the file is damaged`);
}

export type JobStatusState = JobState | 'unknown';

export interface JobStatus extends BenchJob {
  readonly state: JobStatusState;
  readonly progress?: RunJobProgress;
  readonly attemptsMade: number;
  readonly failedReason?: string;
  readonly result?: RunJobResult;
  /** The run folder the job trains, absolute (another bench's when that one enqueued the run first). */
  readonly runDir: string;
  /** The run's training steps (its config's). */
  readonly steps: number;
  /**
   * Its measured milliseconds per training step: a finished run's (from its summary), or the current
   * attempt's so far (from its ETA); absent before it trains.
   */
  readonly msPerStep?: number;
}

export interface BenchStatus {
  readonly dir: string;
  readonly plan: BenchPlan;
  readonly jobs: readonly JobStatus[];
}

function progressOf(job: Job<RunJobData, RunJobResult>): RunJobProgress | undefined {
  const p = job.progress as Partial<RunJobProgress> | number | undefined;
  return typeof p === 'object' && p !== null && typeof p.step === 'number'
    ? (p as RunJobProgress)
    : undefined;
}

/** A job's training steps, from the resolved config it carries. */
function configSteps(config: string): number {
  const steps = (parse(config) as { train?: { steps?: unknown } } | null)?.train?.steps;
  return typeof steps === 'number' ? steps : 0;
}

/** Every job of the bench in `dir` with its state, progress and failure. */
export async function benchStatus(queue: RunQueue, dir: string): Promise<BenchStatus> {
  const plan = await requirePlan(dir);
  const file = await readJobs(dir);
  // The store as seen from here: the bench folder less its path inside the store.
  const store = path.resolve(dir, ...file.bench.split(path.sep).map(() => '..'));
  const jobs = await Promise.all(
    file.jobs.map(async (entry): Promise<JobStatus> => {
      const job = await queue.getJob(entry.id);
      if (!job) {
        const runDir = path.join(dir, entry.folder);
        return { ...entry, state: 'unknown', attemptsMade: 0, runDir, steps: plan.steps ?? 0 };
      }
      const state = await job.getState();
      const progress = progressOf(job);
      const runDir = path.join(store, job.data.run);
      const steps = progress?.steps ?? configSteps(job.data.config);
      const msPerStep =
        state === 'completed'
          ? (await new RunDir(runDir).readSummary().catch(() => undefined))?.timing.msPerStep
          : state === 'active' && progress?.etaMs !== undefined && progress.step < progress.steps
            ? progress.etaMs / (progress.steps - progress.step)
            : undefined;
      return {
        ...entry,
        state,
        ...(progress ? { progress } : {}),
        attemptsMade: job.attemptsMade,
        ...(job.failedReason ? { failedReason: job.failedReason } : {}),
        ...(job.returnvalue ? { result: job.returnvalue } : {}),
        runDir,
        steps,
        ...(msPerStep !== undefined && Number.isFinite(msPerStep) ? { msPerStep } : {}),
      };
    }),
  );
  return { dir, plan, jobs };
}

/** Whether every job finished (whatever the queue says, a run folder with its summary is finished). */
export function allDone(status: BenchStatus): boolean {
  return status.jobs.every((job) => job.state === 'completed');
}

/** The summary each completed job wrote, checked against the job's config hash, by row label in seed order. */
async function summariesOf(jobs: readonly JobStatus[]): Promise<Map<string, TrainSummary[]>> {
  const summaries = new Map<string, TrainSummary[]>();
  for (const job of jobs) {
    const summary = await new RunDir(job.runDir).readSummary();
    if (!summary || summary.configHash !== job.hash) {
      throw new MtlzooError(
        'DATA_INVALID',
        `${job.runDir}: the queue has job ${job.id} done, but the folder holds ${summary ? `the summary of config ${summary.configHash}` : 'no summary'}; is the run store the one the workers write?`,
      );
    }
    summaries.set(job.label, [...(summaries.get(job.label) ?? []), summary]);
  }
  return summaries;
}

/**
 * Aggregates a queued bench whose jobs are all done into results.json and results.md (and the zoo entry
 * with --record), as a local bench does. Refuses, naming them, while jobs are unfinished.
 */
export async function collectBench(status: BenchStatus, log: Logger): Promise<BenchResults> {
  const unfinished = status.jobs.filter((job) => job.state !== 'completed');
  if (unfinished.length > 0) {
    throw new MtlzooError(
      'USAGE',
      `${status.dir}: ${unfinished.length} of ${status.jobs.length} runs are not done (${unfinished
        .slice(0, 5)
        .map((j) => `${j.label} seed ${j.seed}: ${j.state}`)
        .join(', ')}${unfinished.length > 5 ? ', …' : ''}); see mtlzoo bench status ${status.dir}, ` +
        'or bench collect --interim for the rows that are',
      2,
    );
  }
  const { plan } = status;
  const entry = await loadRecipe(plan.recipe);
  const summaries = await summariesOf(status.jobs);
  const locks = [await FolderLock.acquire(status.dir, 'bench', log)];
  try {
    if (plan.record) locks.push(await FolderLock.acquire(entry.dir, 'bench recording this zoo entry', log));
    return await finishBench(status.dir, entry, plan, summaries);
  } finally {
    for (const lock of locks) lock.release();
  }
}

/** Where `bench collect --interim` writes: a folder of its own, so the bench's results.json means done. */
export const INTERIM_FOLDER = 'interim';

/**
 * Interim results of a queued bench: the rows whose every run is done, aggregated as the final results will
 * be (Δm needs the baseline's row done, angle differences shared's), into `<bench>/interim/`, naming the rows
 * still pending with the state of each run. For the finished part of a long bench, or one with a failed run.
 */
export async function collectInterim(status: BenchStatus, log: Logger): Promise<BenchResults> {
  const byLabel = new Map<string, JobStatus[]>();
  for (const job of status.jobs) byLabel.set(job.label, [...(byLabel.get(job.label) ?? []), job]);
  const rows = [...byLabel.entries()];
  const done = rows.filter(([, jobs]) => jobs.every((job) => job.state === 'completed'));
  if (done.length === 0) {
    throw new MtlzooError(
      'USAGE',
      `${status.dir}: no row has every run done yet; see mtlzoo bench status ${status.dir}`,
      2,
    );
  }
  const pending = rows
    .filter(([label]) => !done.some(([d]) => d === label))
    .map(([label, jobs]) => ({ label, seeds: jobs.map((job) => ({ seed: job.seed, state: job.state })) }));
  const entry = await loadRecipe(status.plan.recipe);
  const summaries = await summariesOf(done.flatMap(([, jobs]) => jobs));
  const dir = path.join(status.dir, INTERIM_FOLDER);
  const lock = await FolderLock.acquire(status.dir, 'bench', log);
  try {
    return await writeInterimResults(dir, entry, status.plan, summaries, pending);
  } finally {
    lock.release();
  }
}

/** The bench folder a command names: a bench folder itself, or a recipe (with the choices it was enqueued with). */
export async function findQueuedBench(target: string, store: string, choices: PlanChoices): Promise<string> {
  const dir = path.resolve(target);
  if ((await fs.stat(path.join(dir, BENCH_JOBS)).catch(() => undefined))?.isFile()) return dir;
  const entry = await loadRecipe(target);
  return queuedBenchDir(store, entry, planOf(entry, choices));
}
