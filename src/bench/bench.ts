/**
 * `mtlzoo bench`: runs every method of a zoo recipe under identical settings, for every seed, and
 * aggregates the runs into one comparison (mean ± spread over seeds, Δm against the baseline, storage
 * and speed), written as JSON and markdown.
 *
 * A bench folder is resumable: its plan (bench.json: recipe, seeds, methods, steps) is written before the
 * first run, and each run is an ordinary run folder. Run again into the same folder (or `bench --resume
 * DIR`), a bench keeps the finished runs, resumes the interrupted one and runs the missing ones, so its
 * results equal those of an uninterrupted bench. One bench writes a folder at a time (a lock), and with
 * `--record` one bench writes a zoo entry at a time.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Kernel } from '../kernel/kernel.js';
import type { Metric } from '../kinds/evaluator.js';
import type { ParameterReport } from '../kinds/method.js';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError, MtlzooError, type ConfigIssue } from '../errors.js';
import { resumeRun, trainRun } from '../engine/run.js';
import { RunDir } from '../engine/run-dir.js';
import { InterruptedError, type TrainerHook, type TrainSummary } from '../engine/trainer.js';
import type { Environment } from '../engine/environment.js';
import { deltaM, meanAndSpread, type Spread } from '../metrics/summary.js';
import type { Logger } from '../plugin/types.js';
import { formatBenchMarkdown } from '../report/bench-table.js';
import { FolderLock } from '../util/lock.js';
import { displayPath } from '../util/paths.js';
import { ensureDir, removePath, writeFileAtomic } from '../util/write.js';
import { loadRecipe, type LoadedRecipe, type Recipe } from './recipe.js';

/** The plan of a bench, in its folder. */
export const BENCH_PLAN = 'bench.json';
const PLAN_FORMAT = 'mtlzoo-bench/1';

export interface BenchOptions {
  /** Folder for the runs and the results (default under runs/bench). */
  outputDir: string;
  /** Override the recipe's seeds. */
  seeds?: readonly number[];
  /** Only these method labels. */
  methods?: readonly string[];
  /** Override `train.steps` of the base config (for quick checks; recorded in the results). */
  steps?: number;
  /** Write results.json and results.md into the zoo entry as well. */
  record?: boolean;
  log: Logger;
  hooksFor?(label: string, seed: number, steps: number): readonly TrainerHook[];
  /** Aborting it (reason: a signal's name) stops the bench after the current step, resumable. */
  signal?: AbortSignal;
}

/** What a bench folder was started with; a bench continues a folder only under the same plan. */
export interface BenchPlan {
  readonly format: string;
  /** Absolute path of the recipe file. */
  readonly recipe: string;
  readonly seeds: readonly number[];
  readonly methods: readonly string[];
  readonly steps: number | null;
  readonly record: boolean;
}

export interface BenchRow {
  readonly label: string;
  readonly method: Recipe['methods'][number]['method'];
  readonly seeds: readonly number[];
  /** Over-all-task metrics, mean ± spread over seeds. */
  readonly metrics: Readonly<Record<string, Spread>>;
  /** Per metric and task, mean ± spread over seeds. */
  readonly perTask: Readonly<Record<string, Readonly<Record<string, Spread>>>>;
  /** Δm (fraction) against the baseline row over the recipe's metrics and all tasks; absent for the baseline. */
  readonly deltaM?: Spread;
  readonly params: ParameterReport;
  readonly msPerStep: Spread;
  readonly embedMsPerImage: Spread;
  /** Peak resident memory of the process at the end of each run (runs share one process, so it only grows). */
  readonly peakRssMB: Spread;
  readonly configHashes: readonly string[];
  readonly weightsSha256: readonly string[];
  readonly runDirs: readonly string[];
}

export interface BenchResults {
  readonly entry: string;
  readonly description: string;
  readonly date: string;
  readonly steps: number;
  readonly seeds: readonly number[];
  readonly metrics: readonly string[];
  readonly baseline?: string;
  readonly dataset: string;
  readonly backbone: string;
  readonly tasks: readonly string[];
  readonly environment: Environment;
  readonly rows: readonly BenchRow[];
}

const overall = (metrics: readonly Metric[], name: string) =>
  metrics.find((m) => m.name === name && m.task === undefined);

/** Mean ± spread of the finite values; n = 0 (shown as –) when a metric was never measured. */
function spreadOf(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length > 0
    ? meanAndSpread(finite)
    : { n: 0, mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN };
}

/** The input config of one run: the recipe's base config with the method, seed and budget set. */
export function runConfigText(
  recipe: LoadedRecipe,
  method: Recipe['methods'][number]['method'],
  seed: number,
  steps?: number,
): string {
  const override: Record<string, unknown> = {
    extends: recipe.configFile,
    seed,
    method: typeof method === 'string' ? { name: method } : method,
  };
  if (steps !== undefined) override.train = { steps };
  return `# generated by mtlzoo bench from ${recipe.file}\n${stringify(override)}`;
}

function planOf(entry: LoadedRecipe, options: BenchOptions): BenchPlan {
  const methods = options.methods
    ? entry.recipe.methods.filter((m) => options.methods!.includes(m.label))
    : entry.recipe.methods;
  return {
    format: PLAN_FORMAT,
    recipe: entry.file,
    seeds: options.seeds ?? entry.recipe.seeds,
    methods: methods.map((m) => m.label),
    steps: options.steps ?? null,
    record: options.record ?? false,
  };
}

async function readPlan(dir: string): Promise<BenchPlan | undefined> {
  const file = path.join(dir, BENCH_PLAN);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const plan = JSON.parse(text) as BenchPlan;
    if (plan.format === PLAN_FORMAT) return plan;
  } catch {
    // reported below
  }
  throw new MtlzooError('DATA_INVALID', `${file}: not a bench plan (${PLAN_FORMAT}); the file is damaged`);
}

/** Writes the plan into a new bench folder, or checks that an existing folder was started with it. */
async function adoptPlan(dir: string, plan: BenchPlan, log: Logger): Promise<void> {
  const existing = await readPlan(dir);
  if (!existing) {
    const entries = (await fs.readdir(dir)).filter((e) => !e.startsWith('.'));
    if (entries.length > 0) {
      throw new MtlzooError(
        'USAGE',
        `${dir} is not empty and holds no ${BENCH_PLAN}: it is not a bench folder; pick another --out`,
        2,
      );
    }
    await writeFileAtomic(path.join(dir, BENCH_PLAN), `${JSON.stringify(plan, null, 2)}\n`);
    return;
  }
  const differences = (['recipe', 'seeds', 'methods', 'steps'] as const).filter(
    (key) => JSON.stringify(existing[key]) !== JSON.stringify(plan[key]),
  );
  if (differences.length > 0) {
    throw new MtlzooError(
      'USAGE',
      `${dir} holds a bench started with another ${differences.map((k) => `${k} (${JSON.stringify(existing[k])}, now ${JSON.stringify(plan[k])})`).join(', ')}; resume it with mtlzoo bench --resume ${dir}, or pick another --out`,
      2,
    );
  }
  log.info(`${dir}: continuing the bench started there (finished runs are kept, an interrupted one resumed)`);
}

/** Continues the bench in `dir` with the plan it was started with. */
export async function resumeBench(
  kernel: Kernel,
  dir: string,
  options: Omit<BenchOptions, 'outputDir' | 'seeds' | 'methods' | 'steps' | 'record'>,
): Promise<BenchResults> {
  const outputDir = path.resolve(dir);
  const plan = await readPlan(outputDir);
  if (!plan) {
    throw new MtlzooError('USAGE', `${outputDir} is not a bench folder (no ${BENCH_PLAN})`, 2);
  }
  return runBench(kernel, await loadRecipe(plan.recipe), {
    ...options,
    outputDir,
    seeds: plan.seeds,
    methods: plan.methods,
    steps: plan.steps ?? undefined,
    record: plan.record,
  });
}

/** Trains, resumes or keeps the run of one method and seed; returns its summary as saved. */
async function benchRun(
  kernel: Kernel,
  label: string,
  seed: number,
  loaded: LoadedConfig,
  options: BenchOptions,
  position: string,
): Promise<TrainSummary> {
  const runParent = path.join(options.outputDir, label);
  const runDir = path.join(runParent, `seed-${seed}`);
  options.log.info(
    `${position} ${label}, seed ${seed}: ${loaded.config.train.steps} steps (config ${loaded.hash})`,
  );
  const hooks = options.hooksFor?.(label, seed, loaded.config.train.steps) ?? [];
  const existing = await RunDir.open(runDir).catch(() => undefined);
  if (!existing) {
    // A folder the bench created but never filled (stopped before the run's config was written).
    await removePath(runDir);
    await trainRun(kernel, loaded, {
      outputDir: runParent,
      name: `seed-${seed}`,
      hooks,
      signal: options.signal,
    });
  } else {
    await resumeRun(kernel, runDir, {
      hooks,
      signal: options.signal,
      expectConfigHash: {
        hash: loaded.hash,
        reason: 'the recipe or its base config changed since the bench started; bench into another --out',
      },
    });
  }
  return (await new RunDir(runDir).readSummary())!;
}

/**
 * Writes and loads every run's config before the first run trains, so a bad method fails at once rather
 * than hours in. A problem with a method (a name the base config's plugins do not provide, options its
 * schema refuses) is reported at the recipe's `methods[i].method`, not in the generated config. Returns
 * the loaded configs, by `runKey`.
 */
async function checkRunConfigs(
  kernel: Kernel,
  entry: LoadedRecipe,
  methods: Recipe['methods'],
  seeds: readonly number[],
  options: BenchOptions,
): Promise<Map<string, LoadedConfig>> {
  const loaded = new Map<string, LoadedConfig>();
  for (const { label, method } of methods) {
    const index = entry.recipe.methods.findIndex((m) => m.label === label);
    for (const seed of seeds) {
      const input = path.join(options.outputDir, label, `seed-${seed}.input.yaml`);
      await writeFileAtomic(input, runConfigText(entry, method, seed, options.steps));
      try {
        loaded.set(runKey(label, seed), await kernel.loadConfig(input));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new ConfigError(error.issues.map((issue) => atRecipe(issue, entry, index, input)));
      }
    }
  }
  return loaded;
}

const runKey = (label: string, seed: number) => `${label}\u0000${seed}`;

/** An issue the generated run config `input` has under `method`, moved to the recipe's method `index`. */
function atRecipe(issue: ConfigIssue, entry: LoadedRecipe, index: number, input: string): ConfigIssue {
  if (issue.file !== displayPath(input) || !/^method(\.|$)/.test(issue.path)) return issue;
  const given = entry.recipe.methods[index]!.method;
  const rest = issue.path.slice('method'.length);
  const unknown = issue.path === 'method.name' && issue.message.startsWith('unknown method');
  return {
    file: displayPath(entry.file),
    path: `methods[${index}].method${typeof given === 'string' && rest === '.name' ? '' : rest}`,
    message:
      issue.message.replace(/ \(line \d+\)$/, '') +
      (unknown
        ? `; the base config ${entry.recipe.config} must list the plugin that provides it under plugins:`
        : ''),
  };
}

export async function runBench(
  kernel: Kernel,
  entry: LoadedRecipe,
  options: BenchOptions,
): Promise<BenchResults> {
  const { recipe } = entry;
  const plan = planOf(entry, options);
  const methods = recipe.methods.filter((m) => plan.methods.includes(m.label));
  await ensureDir(options.outputDir);
  const locks = [await FolderLock.acquire(options.outputDir, 'bench', options.log)];
  try {
    if (options.record)
      locks.push(await FolderLock.acquire(entry.dir, 'bench recording this zoo entry', options.log));
    await adoptPlan(options.outputDir, plan, options.log);
    const configs = await checkRunConfigs(kernel, entry, methods, plan.seeds, options);
    const summaries = new Map<string, TrainSummary[]>();
    const total = methods.length * plan.seeds.length;
    let index = 0;
    for (const { label } of methods) {
      const runs: TrainSummary[] = [];
      for (const seed of plan.seeds) {
        index += 1;
        try {
          if (options.signal?.aborted)
            throw new InterruptedError(String(options.signal.reason), 'before the run started');
          const loaded = configs.get(runKey(label, seed))!;
          runs.push(await benchRun(kernel, label, seed, loaded, options, `[${index}/${total}]`));
        } catch (error) {
          if (!(error instanceof InterruptedError)) throw error;
          throw new InterruptedError(
            error.signal,
            `bench interrupted by ${error.signal} in ${label}, seed ${seed} (run ${index}/${total}; ${index - 1} finished); resume with: mtlzoo bench --resume ${options.outputDir}`,
          );
        }
      }
      summaries.set(label, runs);
    }
    const results = aggregateBench(entry, plan, methods, summaries);
    await writeResults(options.outputDir, results);
    if (options.record) await writeResults(entry.dir, results);
    return results;
  } finally {
    for (const lock of locks) lock.release();
  }
}

function aggregateBench(
  entry: LoadedRecipe,
  plan: BenchPlan,
  methods: Recipe['methods'],
  summaries: ReadonlyMap<string, TrainSummary[]>,
): BenchResults {
  const { recipe } = entry;
  const first = [...summaries.values()][0]![0]!;
  const baseline = recipe.baseline ?? (summaries.has('separate') ? 'separate' : undefined);
  const baselineRuns = baseline ? summaries.get(baseline) : undefined;
  const rows = methods.map(({ label, method }) =>
    aggregate(
      label,
      method,
      plan.seeds,
      summaries.get(label)!,
      recipe.metrics,
      label === baseline ? undefined : baselineRuns,
    ),
  );
  return {
    entry: entry.name,
    description: recipe.description,
    date: new Date().toISOString(),
    steps: first.steps,
    seeds: plan.seeds,
    metrics: recipe.metrics,
    baseline: baseline && summaries.has(baseline) ? baseline : undefined,
    dataset: first.dataset,
    backbone: first.backbone,
    tasks: first.tasks,
    environment: first.environment,
    rows,
  };
}

function aggregate(
  label: string,
  method: Recipe['methods'][number]['method'],
  seeds: readonly number[],
  runs: readonly TrainSummary[],
  metricNames: readonly string[],
  /** Runs of the baseline, seed by seed; undefined for the baseline itself or when there is none. */
  baselineRuns: readonly TrainSummary[] | undefined,
): BenchRow {
  const allNames = [
    ...new Set(runs.flatMap((r) => r.test.filter((m) => m.task === undefined).map((m) => m.name))),
  ];
  const metrics = Object.fromEntries(
    allNames.map((name) => [name, spreadOf(runs.map((r) => overall(r.test, name)?.value ?? Number.NaN))]),
  );
  const tasks = runs[0]!.tasks;
  const perTask = Object.fromEntries(
    metricNames.map((name) => [
      name,
      Object.fromEntries(
        tasks.map((task) => [
          task,
          spreadOf(
            runs.map((r) => r.test.find((m) => m.name === name && m.task === task)?.value ?? Number.NaN),
          ),
        ]),
      ),
    ]),
  );
  let delta: Spread | undefined;
  if (baselineRuns) {
    // Per seed: the seed's method run against the baseline run of the same seed.
    const values = runs.map((run, i) => {
      const base = baselineRuns[i];
      if (!base) return Number.NaN;
      const mine: number[] = [];
      const theirs: number[] = [];
      const directions: boolean[] = [];
      for (const name of metricNames) {
        for (const task of tasks) {
          const m = run.test.find((x) => x.name === name && x.task === task);
          const b = base.test.find((x) => x.name === name && x.task === task);
          if (m && b && Number.isFinite(m.value) && Number.isFinite(b.value) && b.value !== 0) {
            mine.push(m.value);
            theirs.push(b.value);
            directions.push(m.higherIsBetter);
          }
        }
      }
      return mine.length > 0 ? deltaM(mine, theirs, directions) : Number.NaN;
    });
    delta = spreadOf(values);
  }
  return {
    label,
    method,
    seeds,
    metrics,
    perTask,
    ...(delta ? { deltaM: delta } : {}),
    params: runs[0]!.params,
    msPerStep: spreadOf(runs.map((r) => r.timing.msPerStep)),
    peakRssMB: spreadOf(runs.map((r) => r.memory.peakRssMB)),
    embedMsPerImage: spreadOf(
      runs.map((r) => overall(r.test, 'time.embed-ms-per-image')?.value ?? Number.NaN),
    ),
    configHashes: runs.map((r) => r.configHash),
    weightsSha256: runs.map((r) => r.weightsSha256),
    runDirs: runs.map((r) => r.runDir),
  };
}

async function writeResults(dir: string, results: BenchResults): Promise<void> {
  await writeFileAtomic(path.join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, 'results.md'), formatBenchMarkdown(results));
}
