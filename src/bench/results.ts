/**
 * A bench's results: its runs' summaries aggregated into one row per method (mean ± spread over seeds,
 * Δm against the baseline, storage and speed), written as results.json and results.md. A local bench and a
 * queued one (src/queue) aggregate through this one door, so their results differ only in timings, dates,
 * hosts and folders.
 */
import path from 'node:path';
import type { Metric } from '../kinds/evaluator.js';
import type { ParameterReport } from '../kinds/method.js';
import type { TrainSummary } from '../engine/trainer.js';
import type { Environment } from '../engine/environment.js';
import { deltaM, meanAndSpread, type Spread } from '../metrics/summary.js';
import { formatBenchMarkdown } from '../report/bench-table.js';
import { writeFileAtomic } from '../util/write.js';
import type { BenchPlan } from './plan.js';
import { benchRows } from './runs.js';
import type { LoadedRecipe, Recipe } from './recipe.js';

export interface BenchRow {
  readonly label: string;
  readonly method: Recipe['methods'][number]['method'];
  /** The row's weighting strategy, when the recipe sets one. */
  readonly weighting?: Recipe['methods'][number]['weighting'];
  /** The grid's values of this row, by dotted config path (benches whose recipe declares a grid). */
  readonly point?: Readonly<Record<string, unknown>>;
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

/** One row of a bench: a method of the recipe, at one point of its grid when it declares one. */
export interface BenchRowSpec {
  /** The method's label, with the grid point after an @ (`modulation@lr=0.001`). */
  readonly label: string;
  /** The recipe's label of the method. */
  readonly methodLabel: string;
  readonly method: Recipe['methods'][number]['method'];
  /** The row's weighting strategy (`train.weighting`), when the recipe sets one. */
  readonly weighting?: Recipe['methods'][number]['weighting'];
  /** The grid's values for this row, by dotted config path. */
  readonly point?: Readonly<Record<string, unknown>>;
  /** The point's name (the part of the label after the @). */
  readonly pointName?: string;
}

/**
 * The bench's results from its runs' summaries (per row label, in seed order). Δm compares each row with
 * the baseline method's row at the same grid point, seed by seed.
 */
export function aggregateBench(
  entry: LoadedRecipe,
  plan: BenchPlan,
  rowSpecs: readonly BenchRowSpec[],
  summaries: ReadonlyMap<string, TrainSummary[]>,
): BenchResults {
  const { recipe } = entry;
  const first = [...summaries.values()][0]![0]!;
  const labels = new Set(rowSpecs.map((r) => r.methodLabel));
  const baseline = recipe.baseline ?? (labels.has('separate') ? 'separate' : undefined);
  const baselineLabel = (row: BenchRowSpec) =>
    row.pointName === undefined ? baseline : `${baseline}@${row.pointName}`;
  const rows = rowSpecs.map((row) =>
    aggregate(
      row,
      plan.seeds,
      summaries.get(row.label)!,
      recipe.metrics,
      row.methodLabel === baseline ? undefined : summaries.get(baselineLabel(row) ?? ''),
    ),
  );
  return {
    entry: entry.name,
    description: recipe.description,
    date: new Date().toISOString(),
    steps: first.steps,
    seeds: plan.seeds,
    metrics: recipe.metrics,
    baseline: baseline && labels.has(baseline) ? baseline : undefined,
    dataset: first.dataset,
    backbone: first.backbone,
    tasks: first.tasks,
    environment: first.environment,
    rows,
  };
}

function aggregate(
  { label, method, weighting, point }: BenchRowSpec,
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
    ...(weighting !== undefined ? { weighting } : {}),
    ...(point ? { point } : {}),
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

/**
 * Aggregates a finished bench's summaries and writes results.json and results.md into its folder (and into
 * the zoo entry when the plan records). The caller holds the folders' locks.
 */
export async function finishBench(
  dir: string,
  entry: LoadedRecipe,
  plan: BenchPlan,
  summaries: ReadonlyMap<string, TrainSummary[]>,
): Promise<BenchResults> {
  const results = aggregateBench(entry, plan, benchRows(entry, plan), summaries);
  await writeResults(dir, results);
  if (plan.record) await writeResults(entry.dir, results);
  return results;
}

async function writeResults(dir: string, results: BenchResults): Promise<void> {
  await writeFileAtomic(path.join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, 'results.md'), formatBenchMarkdown(results));
}
