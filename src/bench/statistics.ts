/**
 * The statistics of a bench table: per cell (method × metric, per task or over all tasks) the mean and
 * spread over seeds with a 95 % bootstrap interval over seeds and test queries; Δm against the baseline
 * and paired differences between methods with their intervals; and the gradient probe's angles per method.
 * Everything here works on what runs recorded (test metrics, their per-query samples, probe records), so a
 * bench can compute it from run folders as well as from runs it just trained.
 */
import type { ProbeRecord } from '../analysis/probe.js';
import type { TestSamples } from '../engine/evaluation.js';
import type { Metric } from '../kinds/evaluator.js';
import {
  bootstrap,
  deltaM,
  deltaMEstimate,
  grandMean,
  meanAndSpread,
  pairedDifference,
  type BootstrapOptions,
  type Interval,
  type PairedDifference,
  type SeedSamples,
  type Spread,
} from '../metrics/index.js';

/** A cell: mean ± std over seeds, and the 95 % interval of the mean (absent when nothing was measured). */
export interface CellStats extends Spread {
  readonly ci?: Interval;
}

/** What a bench reads of one finished run. */
export interface RunMeasurements {
  readonly seed: number;
  readonly test: readonly Metric[];
  /** Per-query test values (`test-samples.json`); without them intervals cover seeds only. */
  readonly samples?: TestSamples;
  /** Gradient probe records of the run's log, in step order. */
  readonly probes?: readonly ProbeRecord[];
  /** The run's total training steps. */
  readonly steps: number;
}

const EMPTY: CellStats = { n: 0, mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN };

/** Mean ± spread over seeds of the finite values, with the seed-level bootstrap interval of the mean. */
export function seedCell(values: readonly number[], options?: BootstrapOptions): CellStats {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return EMPTY;
  const estimate = bootstrap([finite.map((v) => [[v]])], (means) => grandMean(means[0]!), options);
  return { ...meanAndSpread(finite), ci: { low: estimate.low, high: estimate.high } };
}

/**
 * The per-query values of one run for metric `name` of `task`: the recorded samples when there are, else
 * the metric's value as a single sample (the interval then reflects seeds only); undefined when the run
 * has no such metric.
 */
function runSamples(run: RunMeasurements, name: string, task: string): ArrayLike<number> | undefined {
  const kept = run.samples?.metrics.find((m) => m.name === name && m.task === task);
  if (kept && kept.values.length > 0) return kept.values;
  const metric = run.test.find((m) => m.name === name && m.task === task);
  return metric && Number.isFinite(metric.value) ? [metric.value] : undefined;
}

/**
 * Seeds × components samples of `components` (pairs of metric name and task) for every run, or undefined
 * when some run lacks one (a cell is then computed over seeds only, from the recorded values).
 */
function samplesOf(
  runs: readonly RunMeasurements[],
  components: readonly (readonly [string, string])[],
): SeedSamples | undefined {
  const out: ArrayLike<number>[][] = [];
  for (const run of runs) {
    const row: ArrayLike<number>[] = [];
    for (const [name, task] of components) {
      const values = runSamples(run, name, task);
      if (!values) return undefined;
      row.push(values);
    }
    out.push(row);
  }
  return out;
}

const overall = (run: RunMeasurements, name: string) =>
  run.test.find((m) => m.name === name && m.task === undefined)?.value ?? Number.NaN;
const perTask = (run: RunMeasurements, name: string, task: string) =>
  run.test.find((m) => m.name === name && m.task === task)?.value ?? Number.NaN;

/**
 * Metric `name` over all `tasks` (or of one task): mean ± std over seeds of what the runs recorded, and the
 * interval of the mean from the two-level bootstrap over seeds and test queries. Metrics without per-task
 * values (storage, timings) get a seed-level interval.
 */
export function metricCell(
  runs: readonly RunMeasurements[],
  name: string,
  tasks: readonly string[],
  task?: string,
  options?: BootstrapOptions,
): CellStats {
  const values = runs.map((run) => (task === undefined ? overall(run, name) : perTask(run, name, task)));
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return EMPTY;
  const samples = samplesOf(
    runs,
    (task === undefined ? tasks : [task]).map((t) => [name, t] as const),
  );
  if (!samples || finite.length !== runs.length) return seedCell(values, options);
  const estimate = bootstrap([samples], (means) => grandMean(means[0]!), options);
  return { ...meanAndSpread(finite), ci: { low: estimate.low, high: estimate.high } };
}

/** A paired difference or Δm as a cell: mean ± std over seeds of the per-seed figure, and its interval. */
export interface DifferenceCell extends CellStats {
  /** False when the interval contains 0 (or nothing could be compared). */
  readonly significant: boolean;
}

function differenceCell(perSeed: readonly number[], estimate: PairedDifference | undefined): DifferenceCell {
  const finite = perSeed.filter((v) => Number.isFinite(v));
  if (finite.length === 0 || !estimate) return { ...EMPTY, significant: false };
  return {
    ...meanAndSpread(finite),
    ci: { low: estimate.low, high: estimate.high },
    significant: estimate.significant,
  };
}

/** Runs of two rows paired seed by seed (the seeds both have), in the same order. */
function pairBySeed(
  a: readonly RunMeasurements[],
  b: readonly RunMeasurements[],
): [RunMeasurements[], RunMeasurements[]] {
  const seeds = a.map((r) => r.seed).filter((s) => b.some((r) => r.seed === s));
  return [seeds.map((s) => a.find((r) => r.seed === s)!), seeds.map((s) => b.find((r) => r.seed === s)!)];
}

/**
 * `a − b` of metric `name` over all `tasks`, paired by seed and query: the per-seed differences of the
 * recorded values, and the interval of the mean difference from resampling both rows together.
 */
export function pairedCell(
  a: readonly RunMeasurements[],
  b: readonly RunMeasurements[],
  name: string,
  tasks: readonly string[],
  options?: BootstrapOptions,
): DifferenceCell {
  const [mine, theirs] = pairBySeed(a, b);
  const perSeed = mine.map((run, i) => overall(run, name) - overall(theirs[i]!, name));
  const components = tasks.map((t) => [name, t] as const);
  const samplesA = samplesOf(mine, components);
  const samplesB = samplesOf(theirs, components);
  const paired =
    samplesA && samplesB && sameLayout(samplesA, samplesB)
      ? pairedDifference(samplesA, samplesB, options)
      : seedDifference(perSeed, options);
  return differenceCell(perSeed, paired);
}

function sameLayout(a: SeedSamples, b: SeedSamples): boolean {
  return a.every((seed, s) => seed.every((values, k) => values.length === b[s]?.[k]?.length));
}

/** The seed-level paired interval of per-seed differences (when per-query values are missing). */
function seedDifference(
  perSeed: readonly number[],
  options?: BootstrapOptions,
): PairedDifference | undefined {
  const finite = perSeed.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return undefined;
  return pairedDifference(
    finite.map((v) => [[v]]),
    finite.map(() => [[0]]),
    options,
  );
}

/**
 * Δm of a row against the baseline over `metrics` × `tasks` (fraction), per seed, with its paired interval
 * over seeds and queries.
 */
export function deltaMCell(
  runs: readonly RunMeasurements[],
  baseline: readonly RunMeasurements[],
  metrics: readonly string[],
  tasks: readonly string[],
  options?: BootstrapOptions,
): DifferenceCell {
  const [mine, theirs] = pairBySeed(runs, baseline);
  const components = metrics.flatMap((name) => tasks.map((t) => [name, t] as const));
  const direction = (run: RunMeasurements, name: string, task: string) =>
    run.test.find((m) => m.name === name && m.task === task)?.higherIsBetter ?? true;
  const directions = components.map(([name, task]) => direction(mine[0] ?? runs[0]!, name, task));
  const samplesA = samplesOf(mine, components);
  const samplesB = samplesOf(theirs, components);
  if (!samplesA || !samplesB || !sameLayout(samplesA, samplesB) || mine.length === 0) {
    return { ...EMPTY, significant: false };
  }
  // The per-seed figures the ± column shows: Δm of each seed's recorded per-task values.
  const perSeed = mine.map((run, i) => {
    const kept = components.filter(([name, task]) => {
      const b = perTask(theirs[i]!, name, task);
      return b !== 0 && Number.isFinite(b) && Number.isFinite(perTask(run, name, task));
    });
    return kept.length > 0
      ? deltaM(
          kept.map(([name, task]) => perTask(run, name, task)),
          kept.map(([name, task]) => perTask(theirs[i]!, name, task)),
          kept.map(([name, task]) => direction(run, name, task)),
        )
      : Number.NaN;
  });
  return differenceCell(perSeed, deltaMEstimate(samplesA, samplesB, directions, options));
}

/** The probe's summary of one row: angles between tasks' gradients on the shared weights. */
export interface GradientCell {
  /**
   * Mean across-task angle (degrees, over all shared parameters) over the probes of the last quarter of
   * training, per seed, then mean ± std over seeds with a seed-level interval.
   */
  readonly finalAngle: CellStats;
  /** The same for the angle between two halves of one task's probe triplets: the noise floor. */
  readonly finalWithin: CellStats;
  /** Final angle per shared layer, mean ± std over seeds. */
  readonly layers: Readonly<Record<string, CellStats>>;
  /** Mean across-task angle at every probed step: mean over seeds and the seed-level interval. */
  readonly curve: {
    readonly steps: readonly number[];
    readonly mean: readonly number[];
    readonly low: readonly number[];
    readonly high: readonly number[];
    readonly within: readonly number[];
  };
  /** Per task, its probe triplets with a positive loss at the last probe (mean over seeds). */
  readonly active: readonly number[];
  readonly tripletsPerTask: number;
}

/** The probes of a run's last quarter of training (at least its last probe). */
export function finalProbes(probes: readonly ProbeRecord[], steps: number): ProbeRecord[] {
  const late = probes.filter((p) => p.step >= 0.75 * steps);
  return late.length > 0 ? late : probes.slice(-1);
}

function meanOf(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN;
}

/** The final angles of one run: over all shared parameters, within a task, and per layer. */
export function runFinalAngles(run: RunMeasurements): {
  all: number;
  within: number;
  layers: Record<string, number>;
} {
  const late = finalProbes(run.probes ?? [], run.steps);
  const layerNames = Object.keys(late[0]?.layers ?? {});
  return {
    all: meanOf(late.map((p) => p.all.meanAngle)),
    within: meanOf(late.map((p) => p.all.withinAngle ?? Number.NaN)),
    layers: Object.fromEntries(
      layerNames.map((name) => [name, meanOf(late.map((p) => p.layers[name]?.meanAngle ?? Number.NaN))]),
    ),
  };
}

/** The gradient cell of a row, or undefined when its runs have no probe records (e.g. `separate`). */
export function gradientCell(
  runs: readonly RunMeasurements[],
  options?: BootstrapOptions,
): GradientCell | undefined {
  const probed = runs.filter((r) => (r.probes?.length ?? 0) > 0);
  if (probed.length === 0) return undefined;
  const finals = probed.map(runFinalAngles);
  const layerNames = Object.keys(finals[0]!.layers);
  const steps = [...new Set(probed.flatMap((r) => r.probes!.map((p) => p.step)))].sort((a, b) => a - b);
  const at = (step: number, pick: (p: ProbeRecord) => number) =>
    probed.map((r) => {
      const record = r.probes!.find((p) => p.step === step);
      return record ? pick(record) : Number.NaN;
    });
  const curveCells = steps.map((step) =>
    seedCell(
      at(step, (p) => p.all.meanAngle),
      options,
    ),
  );
  const last = probed.map((r) => r.probes![r.probes!.length - 1]!);
  const taskCount = last[0]!.tasks.length;
  return {
    finalAngle: seedCell(
      finals.map((f) => f.all),
      options,
    ),
    finalWithin: seedCell(
      finals.map((f) => f.within),
      options,
    ),
    layers: Object.fromEntries(
      layerNames.map((name) => [
        name,
        seedCell(
          finals.map((f) => f.layers[name] ?? Number.NaN),
          options,
        ),
      ]),
    ),
    curve: {
      steps,
      mean: curveCells.map((c) => c.mean),
      low: curveCells.map((c) => c.ci?.low ?? Number.NaN),
      high: curveCells.map((c) => c.ci?.high ?? Number.NaN),
      within: steps.map((step) => meanOf(at(step, (p) => p.all.withinAngle ?? Number.NaN))),
    },
    active: Array.from({ length: taskCount }, (_, t) => meanOf(last.map((p) => p.active?.[t] ?? Number.NaN))),
    tripletsPerTask: last[0]!.tripletsPerTask,
  };
}

/** `a − b` of the rows' final across-task angles, paired by seed. */
export function angleDifferenceCell(
  a: readonly RunMeasurements[],
  b: readonly RunMeasurements[],
  options?: BootstrapOptions,
): DifferenceCell {
  const [mine, theirs] = pairBySeed(a, b);
  const perSeed = mine.map((run, i) => runFinalAngles(run).all - runFinalAngles(theirs[i]!).all);
  return differenceCell(perSeed, seedDifference(perSeed, options));
}
