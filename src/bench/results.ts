/**
 * A bench's results: its runs' summaries aggregated into one row per method (mean ± spread over seeds with
 * 95 % intervals over seeds and test queries, Δm and paired differences against the baseline, the probe's
 * gradient angles, storage and speed), written as results.json and results.md. A local bench and a
 * queued one (src/queue) aggregate through this one door, so their results differ only in timings, dates,
 * hosts and folders.
 */
import type { Metric } from '../kinds/evaluator.js';
import type { ParameterReport } from '../kinds/method.js';
import type { TrainSummary } from '../engine/trainer.js';
import type { Environment } from '../engine/environment.js';
import { meanAndSpread, type Spread } from '../metrics/summary.js';
import { readRunMeasurements } from './measurements.js';
import type { BenchPlan } from './plan.js';
import type { BenchRowSpec } from './runs.js';
import type { LoadedRecipe, Recipe } from './recipe.js';
import {
  angleDifferenceCell,
  deltaMCell,
  gradientCell,
  metricCell,
  pairedCell,
  type CellStats,
  type DifferenceCell,
  type GradientCell,
  type RunMeasurements,
} from './statistics.js';

export interface BenchRow {
  readonly label: string;
  readonly method: Recipe['methods'][number]['method'];
  /** The row's weighting strategy, when the recipe sets one. */
  readonly weighting?: Recipe['methods'][number]['weighting'];
  /** The grid's values of this row, by dotted config path (benches whose recipe declares a grid). */
  readonly point?: Readonly<Record<string, unknown>>;
  readonly seeds: readonly number[];
  /**
   * Over-all-task metrics, mean ± spread over seeds; the recipe's metrics with the 95 % interval of the
   * mean from the bootstrap over seeds and test queries (src/bench/statistics.ts).
   */
  readonly metrics: Readonly<Record<string, CellStats>>;
  /** Per metric and task, mean ± spread over seeds with the interval over seeds and queries. */
  readonly perTask: Readonly<Record<string, Readonly<Record<string, CellStats>>>>;
  /**
   * Δm (fraction) against the baseline row over the recipe's metrics and all tasks, per seed, with its
   * paired interval; absent for the baseline.
   */
  readonly deltaM?: DifferenceCell;
  /** Per recipe metric, this row − the baseline over all tasks, paired by seed and query; absent for the baseline. */
  readonly versusBaseline?: Readonly<Record<string, DifferenceCell>>;
  /** The gradient probe's angles on the shared weights; absent when the runs recorded no probes. */
  readonly gradients?: GradientCell;
  /** Final across-task angle of this row − that of the angle baseline row, paired by seed. */
  readonly angleVersus?: { readonly label: string; readonly difference: DifferenceCell };
  readonly params: ParameterReport;
  readonly msPerStep: Spread;
  readonly embedMsPerImage: Spread;
  /** Peak resident memory of the process at the end of each run (runs share one process, so it only grows). */
  readonly peakRssMB: Spread;
  readonly configHashes: readonly string[];
  readonly weightsSha256: readonly string[];
  readonly runDirs: readonly string[];
}

/** A row an interim collection leaves out, with the state of each of its seeds' runs. */
export interface PendingRow {
  readonly label: string;
  readonly seeds: readonly { readonly seed: number; readonly state: string }[];
}

export interface BenchResults {
  readonly entry: string;
  readonly description: string;
  readonly date: string;
  readonly steps: number;
  readonly seeds: readonly number[];
  readonly metrics: readonly string[];
  readonly baseline?: string;
  /** The method probe angles are compared against (`shared` when the recipe has it). */
  readonly angleBaseline?: string;
  readonly dataset: string;
  readonly backbone: string;
  readonly tasks: readonly string[];
  readonly environment: Environment;
  readonly rows: readonly BenchRow[];
  /**
   * Present in interim results (`bench collect --interim`): the rows not in `rows` because some of their
   * runs are not done. The bench's own results.json never has it.
   */
  readonly pending?: readonly PendingRow[];
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

/**
 * The bench's results from its runs' summaries (per row label, in seed order) and what the runs' folders
 * hold for the statistics (per-query test values, probe records). Δm and paired differences compare each
 * row with the baseline method's row at the same grid point, seed by seed and query by query; probe angles
 * are compared with `shared`'s at the same point.
 */
export async function aggregateBench(
  entry: LoadedRecipe,
  plan: BenchPlan,
  rowSpecs: readonly BenchRowSpec[],
  summaries: ReadonlyMap<string, TrainSummary[]>,
): Promise<BenchResults> {
  const { recipe } = entry;
  const first = [...summaries.values()][0]![0]!;
  // Every commit the runs were trained by (summaries written before commits were recorded have none).
  const environments = [...summaries.values()].flat().map((s) => s.environment);
  const commits = new Set(environments.flatMap((e) => e.commit ?? []));
  // The native pack's thread count when every run shares it (runs recorded before it was have none).
  const threads = new Set(environments.map((e) => e.threads ?? null));
  const labels = new Set(rowSpecs.map((r) => r.methodLabel));
  const baseline = recipe.baseline ?? (labels.has('separate') ? 'separate' : undefined);
  const angleBaseline = labels.has('shared') ? 'shared' : undefined;
  const atPoint = (method: string | undefined, row: BenchRowSpec) =>
    method === undefined ? undefined : row.pointName === undefined ? method : `${method}@${row.pointName}`;
  const measured = new Map<string, RunMeasurements[]>();
  for (const [label, runs] of summaries) {
    measured.set(
      label,
      await Promise.all(runs.map((summary, i) => readRunMeasurements(summary, plan.seeds[i]!))),
    );
  }
  const rows = rowSpecs.map((row) => {
    const angleLabel = atPoint(angleBaseline, row);
    return aggregate(row, plan.seeds, summaries.get(row.label)!, measured.get(row.label)!, recipe.metrics, {
      runs: row.methodLabel === baseline ? undefined : measured.get(atPoint(baseline, row) ?? ''),
      angle:
        angleLabel && row.methodLabel !== angleBaseline && measured.has(angleLabel)
          ? { label: angleBaseline!, runs: measured.get(angleLabel)! }
          : undefined,
    });
  });
  return {
    entry: entry.name,
    description: recipe.description,
    date: new Date().toISOString(),
    steps: first.steps,
    seeds: plan.seeds,
    metrics: recipe.metrics,
    baseline: baseline && labels.has(baseline) ? baseline : undefined,
    ...(angleBaseline ? { angleBaseline } : {}),
    dataset: first.dataset,
    backbone: first.backbone,
    tasks: first.tasks,
    environment: {
      ...first.environment,
      commit: commits.size > 0 ? [...commits].join(', ') : null,
      threads: threads.size === 1 ? [...threads][0]! : null,
    },
    rows,
  };
}

function aggregate(
  { label, method, weighting, point }: BenchRowSpec,
  seeds: readonly number[],
  runs: readonly TrainSummary[],
  measurements: readonly RunMeasurements[],
  metricNames: readonly string[],
  against: {
    /** Runs of the baseline; undefined for the baseline itself or when there is none. */
    readonly runs: readonly RunMeasurements[] | undefined;
    /** The row whose probe angles this row's are compared with; undefined for that row itself. */
    readonly angle: { readonly label: string; readonly runs: readonly RunMeasurements[] } | undefined;
  },
): BenchRow {
  const tasks = runs[0]!.tasks;
  const allNames = [
    ...new Set(runs.flatMap((r) => r.test.filter((m) => m.task === undefined).map((m) => m.name))),
  ];
  // The recipe's metrics get intervals over seeds and queries; the rest (storage, timings) mean ± spread.
  const metrics = Object.fromEntries(
    allNames.map((name) => [
      name,
      metricNames.includes(name)
        ? metricCell(measurements, name, tasks)
        : spreadOf(runs.map((r) => overall(r.test, name)?.value ?? Number.NaN)),
    ]),
  );
  const perTask = Object.fromEntries(
    metricNames.map((name) => [
      name,
      Object.fromEntries(tasks.map((task) => [task, metricCell(measurements, name, tasks, task)])),
    ]),
  );
  const baselineRuns = against.runs;
  const gradients = gradientCell(measurements);
  const angleRuns = against.angle?.runs.filter((r) => (r.probes?.length ?? 0) > 0) ?? [];
  return {
    label,
    method,
    ...(weighting !== undefined ? { weighting } : {}),
    ...(point ? { point } : {}),
    seeds,
    metrics,
    perTask,
    ...(baselineRuns
      ? {
          deltaM: deltaMCell(measurements, baselineRuns, metricNames, tasks),
          versusBaseline: Object.fromEntries(
            metricNames.map((name) => [name, pairedCell(measurements, baselineRuns, name, tasks)]),
          ),
        }
      : {}),
    ...(gradients ? { gradients } : {}),
    ...(gradients && against.angle && angleRuns.length > 0
      ? {
          angleVersus: {
            label: against.angle.label,
            difference: angleDifferenceCell(measurements, angleRuns),
          },
        }
      : {}),
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
