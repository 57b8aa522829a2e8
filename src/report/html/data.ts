/**
 * Everything the HTML report shows, gathered from a run directory (summary.json) or a bench folder
 * (results.json and its run directories): metrics, parameters, probe records, learned relatedness,
 * environment and config hashes. A run is shown as a bench of one method and one seed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { probeRecordsOf, type ProbeRecord } from '../../analysis/probe.js';
import { runRelatedness, type RunRelatedness } from '../../analysis/relatedness.js';
import type { BenchResults, BenchRow } from '../../bench/results.js';
import type { CellStats, DifferenceCell } from '../../bench/statistics.js';
import type { PluginRef } from '../../config/schema.js';
import type { Environment } from '../../engine/environment.js';
import { loadRunConfig } from '../../engine/run-config.js';
import { RunDir } from '../../engine/run-dir.js';
import type { TrainSummary } from '../../engine/trainer.js';
import { MtlzooError } from '../../errors.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { ParameterReport } from '../../kinds/method.js';
import type { Matrix } from '../../metrics/gradients.js';
import { meanAndSpread, type Spread } from '../../metrics/summary.js';

export interface ReportRun {
  readonly dir: string;
  readonly seed: number;
  readonly configHash: string;
  readonly weightsSha256: string;
}

export interface ReportMethod {
  readonly label: string;
  /** Method name with its options, e.g. `modulation (form="vector")`. */
  readonly method: string;
  /** Mean ± std over seeds, with the 95 % interval where the bench computed one. */
  readonly metrics: Readonly<Record<string, CellStats>>;
  readonly perTask: Readonly<Record<string, Readonly<Record<string, CellStats>>>>;
  readonly deltaM?: DifferenceCell;
  readonly params: ParameterReport;
  readonly msPerStep: Spread;
  readonly runs: readonly ReportRun[];
  /**
   * Mean across-task gradient angle over all shared parameters per probed step, mean over seeds, with the
   * seed-level 95 % interval where the bench computed one.
   */
  readonly angle: readonly {
    readonly step: number;
    readonly degrees: number;
    readonly low?: number;
    readonly high?: number;
  }[];
  /** Task × task gradient cosine at the last probed step, mean over seeds. */
  readonly cosine?: { readonly step: number; readonly matrix: Matrix };
  /** Learned relatedness of the first seed's run; undefined when it has no checkpoint. */
  readonly relatedness?: RunRelatedness;
  /** Why the checkpoint could not be read (e.g. a format of an earlier mtlzoo), when it could not. */
  readonly relatednessError?: string;
}

export interface ReportData {
  readonly title: string;
  readonly description?: string;
  readonly source: 'run' | 'bench';
  readonly dir: string;
  readonly date: string;
  readonly dataset: string;
  readonly backbone: string;
  readonly tasks: readonly string[];
  readonly steps: number;
  readonly seeds: readonly number[];
  /** Quality metrics shown in the table; the first is the one the charts plot. */
  readonly metrics: readonly string[];
  readonly baseline?: string;
  readonly environment: Environment;
  readonly methods: readonly ReportMethod[];
}

export function methodDisplay(ref: string | Pick<PluginRef, 'name' | 'options'>): string {
  const { name, options } = typeof ref === 'string' ? { name: ref, options: {} } : ref;
  const shown = Object.entries(options ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return shown.length > 0 ? `${name} (${shown.join(', ')})` : name;
}

async function isFile(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (error) {
    throw new MtlzooError('DATA_INVALID', `${file}: ${(error as Error).message}`);
  }
}

function mean(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
}

/** Angle curve and final cosine matrix, each averaged over the runs (seeds) that probed that step. */
function probeSummary(perRun: readonly ProbeRecord[][]): Pick<ReportMethod, 'angle' | 'cosine'> {
  const steps = [...new Set(perRun.flat().map((r) => r.step))].sort((a, b) => a - b);
  const angle = steps.map((step) => ({
    step,
    degrees: mean(
      perRun.flatMap((records) => records.filter((r) => r.step === step).map((r) => r.all.meanAngle)),
    ),
  }));
  const lasts = perRun.map((records) => records[records.length - 1]).filter((r) => r !== undefined);
  const last = lasts[0];
  if (!last) return { angle };
  // Seeds of one bench row run the same schedule, so their last probes share a step.
  const matrix = last.all.cosine.map((row, i) =>
    row.map((_, j) => mean(lasts.map((r) => r.all.cosine[i]![j]!))),
  );
  return { angle, cosine: { step: last.step, matrix } };
}

/** The bench's angle curve (mean over seeds with its interval) as report points. */
function angleWithIntervals(curve: NonNullable<BenchRow['gradients']>['curve']): ReportMethod['angle'] {
  return curve.steps.map((step, i) => ({
    step,
    degrees: curve.mean[i]!,
    low: curve.low[i]!,
    high: curve.high[i]!,
  }));
}

async function probesOf(dir: string): Promise<ProbeRecord[]> {
  return probeRecordsOf(await new RunDir(dir).readMetrics());
}

/**
 * Relatedness needs the model rebuilt; a run without a checkpoint (or a method without per-task variables)
 * shows none, and a checkpoint this version cannot read (an earlier format) is named, not fatal: the rest
 * of the report comes from the run's records.
 */
async function relatednessOf(
  kernel: Kernel,
  dir: string | undefined,
): Promise<Pick<ReportMethod, 'relatedness' | 'relatednessError'>> {
  if (!dir) return {};
  const run = new RunDir(dir);
  if (!(await run.hasCheckpoint('best')) && !(await run.hasCheckpoint('last'))) return {};
  try {
    return { relatedness: await runRelatedness(kernel, dir) };
  } catch (error) {
    if (error instanceof MtlzooError && error.code === 'CHECKPOINT_INVALID') {
      return { relatednessError: error.message };
    }
    throw error;
  }
}

const single = (value: number) => meanAndSpread([value]);

async function fromRun(kernel: Kernel, dir: string): Promise<ReportData> {
  const run = await RunDir.open(dir);
  if (!(await isFile(run.path('summary')))) {
    throw new MtlzooError('USAGE', `${run.dir} has no summary.json: the run has not finished`, 2);
  }
  const summary = await readJson<TrainSummary>(run.path('summary'));
  const loaded = await loadRunConfig(kernel, run);
  // The bench's default columns: the checkpoint-selection metric, then mAP at every k evaluated.
  const { selectBy } = loaded.config.train;
  const names = new Set(summary.test.filter((m) => m.task !== undefined).map((m) => m.name));
  const metrics = [selectBy, ...[...names].filter((n) => n.startsWith('mAP@'))].filter((n) => names.has(n));
  const overall = Object.fromEntries(
    summary.test.filter((m) => m.task === undefined).map((m) => [m.name, single(m.value)]),
  );
  const perTask = Object.fromEntries(
    metrics.map((name) => [
      name,
      Object.fromEntries(
        summary.test
          .filter((m) => m.name === name && m.task !== undefined)
          .map((m) => [m.task!, single(m.value)]),
      ),
    ]),
  );
  const method: ReportMethod = {
    label: summary.method,
    method: methodDisplay(loaded.config.method),
    metrics: overall,
    perTask,
    params: summary.params,
    msPerStep: single(summary.timing.msPerStep),
    runs: [
      {
        dir: run.dir,
        seed: loaded.config.seed,
        configHash: summary.configHash,
        weightsSha256: summary.weightsSha256,
      },
    ],
    ...probeSummary([await probesOf(run.dir)]),
    ...(await relatednessOf(kernel, run.dir)),
  };
  return {
    title: `${summary.method} on ${summary.dataset}`,
    source: 'run',
    dir: run.dir,
    date: (await fs.stat(run.path('summary'))).mtime.toISOString(),
    dataset: summary.dataset,
    backbone: summary.backbone,
    tasks: summary.tasks,
    steps: summary.steps,
    seeds: [loaded.config.seed],
    metrics,
    environment: summary.environment,
    methods: [method],
  };
}

async function fromBench(kernel: Kernel, dir: string, results: BenchResults): Promise<ReportData> {
  const methods: ReportMethod[] = [];
  for (const row of results.rows) {
    methods.push({
      label: row.label,
      method: methodDisplay(row.method),
      metrics: row.metrics,
      perTask: row.perTask,
      ...(row.deltaM ? { deltaM: row.deltaM } : {}),
      params: row.params,
      msPerStep: row.msPerStep,
      runs: row.runDirs.map((runDir, i) => ({
        dir: runDir,
        seed: row.seeds[i]!,
        configHash: row.configHashes[i]!,
        weightsSha256: row.weightsSha256[i]!,
      })),
      ...probeSummary(await Promise.all(row.runDirs.map(probesOf))),
      ...(row.gradients ? { angle: angleWithIntervals(row.gradients.curve) } : {}),
      ...(await relatednessOf(kernel, row.runDirs[0])),
    });
  }
  return {
    title: results.entry,
    description: results.description,
    source: 'bench',
    dir,
    date: results.date,
    dataset: results.dataset,
    backbone: results.backbone,
    tasks: results.tasks,
    steps: results.steps,
    seeds: results.seeds,
    metrics: results.metrics,
    ...(results.baseline ? { baseline: results.baseline } : {}),
    environment: results.environment,
    methods,
  };
}

/** A bench folder (holding results.json) or a run directory (holding config.yaml). */
export async function loadReportData(kernel: Kernel, dir: string): Promise<ReportData> {
  const absolute = path.resolve(dir);
  const results = path.join(absolute, 'results.json');
  return (await isFile(results))
    ? fromBench(kernel, absolute, await readJson<BenchResults>(results))
    : fromRun(kernel, absolute);
}
