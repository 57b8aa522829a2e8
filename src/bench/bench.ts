/**
 * `mtlzoo bench`: runs every method of a zoo recipe under identical settings, for every seed (and every
 * point of the recipe's grid), and aggregates the runs into one comparison (mean ± spread over seeds, Δm
 * against the baseline, storage and speed), written as JSON and markdown.
 *
 * A bench folder is resumable: its plan (bench.json: recipe, seeds, methods, steps) is written before the
 * first run, and each run is an ordinary run folder. Run again into the same folder (or `bench --resume
 * DIR`), a bench keeps the finished runs, resumes the interrupted one and runs the missing ones, so its
 * results equal those of an uninterrupted bench. One bench writes a folder at a time (a lock), and with
 * `--record` one bench writes a zoo entry at a time. The same runs can be trained by queue workers on
 * other machines instead (src/queue).
 */
import path from 'node:path';
import type { Kernel } from '../kernel/kernel.js';
import { InterruptedError, type TrainerHook, type TrainSummary } from '../engine/trainer.js';
import type { Logger } from '../plugin/types.js';
import { FolderLock } from '../util/lock.js';
import { ensureDir } from '../util/write.js';
import { adoptPlan, planOf, requirePlan, type PlanChoices } from './plan.js';
import { loadRecipe, type LoadedRecipe } from './recipe.js';
import { finishBench } from './finish.js';
import type { BenchResults } from './results.js';
import { prepareRuns, trainOrResume } from './runs.js';

export { BENCH_PLAN, type BenchPlan } from './plan.js';
export type { BenchResults, BenchRow } from './results.js';
export { runConfigText } from './runs.js';

/** Said when a kept run's config no longer hashes as the recipe gives it. */
export const CHANGED_RECIPE =
  'the recipe or its base config changed since the bench started; bench into another --out';

export interface BenchOptions extends PlanChoices {
  /** Folder for the runs and the results (default under runs/bench). */
  outputDir: string;
  log: Logger;
  hooksFor?(label: string, seed: number, steps: number): readonly TrainerHook[];
  /** Aborting it (reason: a signal's name) stops the bench after the current step, resumable. */
  signal?: AbortSignal;
}

/** Continues the bench in `dir` with the plan it was started with. */
export async function resumeBench(
  kernel: Kernel,
  dir: string,
  options: Omit<BenchOptions, 'outputDir' | 'seeds' | 'methods' | 'steps' | 'record'>,
): Promise<BenchResults> {
  const outputDir = path.resolve(dir);
  const plan = await requirePlan(outputDir);
  return runBench(kernel, await loadRecipe(plan.recipe), {
    ...options,
    outputDir,
    seeds: plan.seeds,
    methods: plan.methods,
    steps: plan.steps ?? undefined,
    record: plan.record,
  });
}

export async function runBench(
  kernel: Kernel,
  entry: LoadedRecipe,
  options: BenchOptions,
): Promise<BenchResults> {
  const plan = planOf(entry, options);
  await ensureDir(options.outputDir);
  const locks = [await FolderLock.acquire(options.outputDir, 'bench', options.log)];
  try {
    if (options.record)
      locks.push(await FolderLock.acquire(entry.dir, 'bench recording this zoo entry', options.log));
    await adoptPlan(options.outputDir, plan, options.log);
    const runs = await prepareRuns(kernel, entry, plan, options.outputDir);
    const summaries = new Map<string, TrainSummary[]>();
    for (const [i, run] of runs.entries()) {
      const position = `run ${i + 1}/${runs.length}`;
      const steps = run.loaded.config.train.steps;
      options.log.info(
        `[${i + 1}/${runs.length}] ${run.label}, seed ${run.seed}: ${steps} steps (config ${run.loaded.hash})`,
      );
      try {
        if (options.signal?.aborted)
          throw new InterruptedError(String(options.signal.reason), 'before the run started');
        const summary = await trainOrResume(kernel, path.join(options.outputDir, run.folder), run.loaded, {
          hooks: options.hooksFor?.(run.label, run.seed, steps) ?? [],
          signal: options.signal,
          mismatch: CHANGED_RECIPE,
        });
        summaries.set(run.label, [...(summaries.get(run.label) ?? []), summary]);
      } catch (error) {
        if (!(error instanceof InterruptedError)) throw error;
        throw new InterruptedError(
          error.signal,
          `bench interrupted by ${error.signal} in ${run.label}, seed ${run.seed} (${position}; ${i} finished); resume with: mtlzoo bench --resume ${options.outputDir}`,
        );
      }
    }
    return await finishBench(options.outputDir, entry, plan, summaries);
  } finally {
    for (const lock of locks) lock.release();
  }
}
