/**
 * Everything the report shows, gathered from a run directory (summary.json) or a bench folder
 * (results.json and its run directories): metrics, parameters, probe records, learned relatedness,
 * attention maps, environment and config hashes. A run is shown as a bench of one method and one seed.
 *
 * results.json is read through a schema of the fields the report uses and nothing more, so fields other
 * tools add later pass through untouched. A cell carries the bench's 95 % interval (`ci`, from the bootstrap
 * over seeds and test queries, src/bench/statistics.ts) where the bench computed one; results recorded
 * before intervals have none and are drawn with ± 1 std over seeds.
 *
 * A run folder of a bench that cannot be read (no config.yaml, a torn summary.json or log, a checkpoint of
 * an earlier format) is named in the report, which goes on with the other runs: the tables come from
 * results.json, the charts from the runs that could be read.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { probeRecordsOf, type ProbeRecord } from '../analysis/probe.js';
import { attentionMaps, type AttentionMaps, type AttentionOptions } from '../analysis/attention.js';
import {
  experimentRelatedness,
  stageValues,
  type RunRelatedness,
  type StageValues,
} from '../analysis/relatedness.js';
import { withRunCheckpoint } from '../analysis/run-checkpoint.js';
import { findRun, isFile, locateRuns } from '../bench/run-locations.js';
import type { CellStats, DifferenceCell } from '../bench/statistics.js';
import type { PluginRef } from '../config/schema.js';
import type { Environment } from '../engine/environment.js';
import { loadRunConfig } from '../engine/run-config.js';
import { RunDir } from '../engine/run-dir.js';
import type { TrainSummary } from '../engine/trainer.js';
import { MtlzooError, dottedPath } from '../errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Metric } from '../kinds/evaluator.js';
import type { ParameterReport } from '../kinds/method.js';
import type { Matrix } from '../metrics/gradients.js';
import { meanAndSpread, type Spread } from '../metrics/summary.js';
import { interimNote } from './bench-table.js';

/** A difference (Δm) as the report reads it; `significant` is absent in results recorded before intervals. */
export type ReportDifference = CellStats & Partial<Pick<DifferenceCell, 'significant'>>;

export interface ReportRun {
  /** The run folder relative to the bench folder (a run report: the folder's name), never absolute. */
  readonly dir: string;
  readonly seed: number;
  readonly configHash: string;
  readonly weightsSha256: string;
  /** Whether the run folder was found on this machine. */
  readonly here: boolean;
  /** Why the folder, found here, could not be read; the report leaves the run out of its charts. */
  readonly unreadable?: string;
  /** Test metrics from the run's summary.json; undefined when the run folder is not here. */
  readonly test?: readonly Metric[];
}

/**
 * The mean across-task gradient angle at one probed step: mean over seeds, each seed's value, and (from a
 * bench's statistics) the 95 % interval of the mean over seeds and the within-task angle, the noise floor.
 */
export interface AnglePoint {
  readonly step: number;
  readonly degrees: number;
  readonly seeds: readonly { readonly seed: number; readonly degrees: number }[];
  readonly low?: number;
  readonly high?: number;
  readonly within?: number;
}

export interface ReportMethod {
  readonly label: string;
  /** Method name with its options, e.g. `modulation (form="vector")`. */
  readonly method: string;
  /** Mean ± std over seeds, with the 95 % interval where the bench computed one. */
  readonly metrics: Readonly<Record<string, CellStats>>;
  readonly perTask: Readonly<Record<string, Readonly<Record<string, CellStats>>>>;
  readonly deltaM?: ReportDifference;
  readonly params: ParameterReport;
  readonly msPerStep: Spread;
  readonly runs: readonly ReportRun[];
  /** Mean across-task gradient angle over all shared parameters per probed step. */
  readonly angle: readonly AnglePoint[];
  /** Task × task gradient cosine at the last probed step, mean over seeds. */
  readonly cosine?: { readonly step: number; readonly matrix: Matrix };
  /** Learned relatedness of the first seed's run found here; undefined when it has no checkpoint. */
  readonly relatedness?: RunRelatedness;
  /** Why that run's relatedness could not be read (e.g. a checkpoint of an earlier format), when it could not. */
  readonly relatednessError?: string;
  /**
   * Where each task looks (`MtlModel.explain`, e.g. asen's spatial attention) on a few test images, from the
   * same run and checkpoint as the relatedness; undefined for a method without `explain`.
   */
  readonly attention?: AttentionMaps;
  /** Why the attention maps of a method with `explain` could not be drawn, when they could not. */
  readonly attentionError?: string;
}

/** A run folder found here that could not be read, relative to the bench folder, and why. */
export interface UnreadableRun {
  readonly dir: string;
  readonly reason: string;
}

export interface ReportData {
  readonly title: string;
  readonly description?: string;
  /** For interim bench results: what they leave out (see interimNote). */
  readonly interim?: string;
  readonly source: 'run' | 'bench';
  /** The folder's name (paths in the report are relative to it). */
  readonly folder: string;
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
  /** Runs listed in results.json whose folders are not on this machine (relative paths). */
  readonly missingRuns: readonly string[];
  /** Runs listed in results.json whose folders are here but could not be read. */
  readonly unreadableRuns: readonly UnreadableRun[];
}

export function methodDisplay(
  ref: string | { readonly name: string; readonly options?: PluginRef['options'] },
): string {
  const { name, options } = typeof ref === 'string' ? { name: ref, options: {} } : ref;
  const shown = Object.entries(options ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return shown.length > 0 ? `${name} (${shown.join(', ')})` : name;
}

/** JSON writes NaN (a metric never measured) as null. */
const measured = z
  .number()
  .nullable()
  .transform((v) => v ?? Number.NaN);

const cellSchema = z.looseObject({
  n: z.number(),
  mean: measured,
  std: measured,
  min: measured,
  max: measured,
  ci: z.looseObject({ low: measured, high: measured }).optional(),
});

const cells = z.record(z.string(), cellSchema);
const series = z.array(measured);

/** The fields of results.json (see BenchResults) that the report reads. */
const resultsSchema = z.looseObject({
  entry: z.string(),
  description: z.string(),
  date: z.string(),
  steps: z.number(),
  seeds: z.array(z.number()),
  metrics: z.array(z.string()),
  baseline: z.string().optional(),
  dataset: z.string(),
  backbone: z.string(),
  tasks: z.array(z.string()),
  environment: z.looseObject({
    mtlzoo: z.string(),
    // Recorded since 2026-11-30.
    commit: z.string().nullable().default(null),
    node: z.string(),
    tfjs: z.string(),
    backend: z.string(),
    tfBackend: z.string(),
    platform: z.string(),
    cpu: z.string(),
    cores: z.number(),
    memoryGiB: z.number(),
    gpu: z.string().nullable(),
    // Recorded since the webgpu backend; the GPU row shows it through `gpu`.
    adapter: z
      .looseObject({
        vendor: z.string(),
        architecture: z.string(),
        device: z.string(),
        description: z.string(),
        isFallbackAdapter: z.boolean(),
      })
      .nullable()
      .default(null),
    nativePack: z.boolean().default(false),
    // Recorded since 2026-11-30; null for a bench whose runs differ.
    threads: z.number().nullable().default(null),
  }),
  pending: z
    .array(
      z.looseObject({
        label: z.string(),
        seeds: z.array(z.looseObject({ seed: z.number(), state: z.string() })),
      }),
    )
    .optional(),
  rows: z.array(
    z.looseObject({
      label: z.string(),
      method: z.union([
        z.string(),
        z.looseObject({ name: z.string(), options: z.record(z.string(), z.unknown()).optional() }),
      ]),
      seeds: z.array(z.number()),
      metrics: cells,
      perTask: z.record(z.string(), cells),
      deltaM: cellSchema.extend({ significant: z.boolean().optional() }).optional(),
      gradients: z
        .looseObject({
          curve: z.looseObject({
            steps: z.array(z.number()),
            mean: series,
            low: series,
            high: series,
            within: series.optional(),
          }),
        })
        .optional(),
      params: z.looseObject({
        sharedParams: z.number(),
        paramsPerTask: z.number(),
        totalParams: z.number(),
        bytes: z.number(),
        galleryPasses: z.number(),
      }),
      msPerStep: cellSchema,
      configHashes: z.array(z.string()),
      weightsSha256: z.array(z.string()),
      runDirs: z.array(z.string()),
    }),
  ),
});

type ResultsFile = z.infer<typeof resultsSchema>;

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new MtlzooError('DATA_INVALID', `${file}: ${(error as Error).message}`);
  }
}

async function readResults(file: string): Promise<ResultsFile> {
  const parsed = resultsSchema.safeParse(await readJson(file));
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${file}: ${dottedPath(i.path)}: ${i.message}`);
  throw new MtlzooError('DATA_INVALID', issues.join('\n'));
}

function mean(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
}

interface ProbedRun {
  readonly seed: number;
  readonly records: readonly ProbeRecord[];
}

type AngleCurve = NonNullable<ResultsFile['rows'][number]['gradients']>['curve'];

/**
 * The bench's angle curve (mean over seeds, its 95 % interval, the within-task angle) as report points,
 * with each seed's value from the runs read here.
 */
function withIntervals(curve: AngleCurve, fromRuns: readonly AnglePoint[]): AnglePoint[] {
  return curve.steps.map((step, i) => ({
    step,
    degrees: curve.mean[i] ?? Number.NaN,
    seeds: fromRuns.find((a) => a.step === step)?.seeds ?? [],
    low: curve.low[i] ?? Number.NaN,
    high: curve.high[i] ?? Number.NaN,
    ...(curve.within ? { within: curve.within[i] ?? Number.NaN } : {}),
  }));
}

/** Angle curve and final cosine matrix, each averaged over the runs (seeds) that probed that step. */
function probeSummary(runs: readonly ProbedRun[]): Pick<ReportMethod, 'angle' | 'cosine'> {
  const steps = [...new Set(runs.flatMap((r) => r.records.map((p) => p.step)))].sort((a, b) => a - b);
  const angle = steps.map((step) => {
    const seeds = runs.flatMap(({ seed, records }) =>
      records.filter((p) => p.step === step).map((p) => ({ seed, degrees: p.all.meanAngle })),
    );
    return { step, degrees: mean(seeds.map((s) => s.degrees)), seeds };
  });
  const lasts = runs.map((r) => r.records[r.records.length - 1]).filter((r) => r !== undefined);
  const last = lasts[0];
  if (!last) return { angle };
  // Seeds of one bench row run the same schedule, so their last probes share a step.
  const matrix = last.all.cosine.map((row, i) =>
    row.map((_, j) => mean(lasts.map((r) => r.all.cosine[i]![j]!))),
  );
  return { angle, cosine: { step: last.step, matrix } };
}

/** `error`'s message with the run's folder as the report shows it (never a path of this machine). */
function reasonOf(error: unknown, dir: string, shown: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(dir).join(shown);
}

/** What the report shows of a run's attention maps: test images, cells small enough to inline. */
export const REPORT_ATTENTION: AttentionOptions = {
  images: 6,
  split: 'test',
  cellSize: 96,
  paletteQuality: 70,
};

type CheckpointAnalyses = Pick<
  ReportMethod,
  'relatedness' | 'relatednessError' | 'attention' | 'attentionError'
>;

/** A note for the report: why a run's checkpoint (or its attention maps) could not be read. */
function checkpointReason(error: MtlzooError, run: { readonly dir: string; readonly shown: string }): string {
  const why = error.code === 'CHECKPOINT_INVALID' ? 'checkpoint not readable by this version' : 'not read';
  return `${why}: ${reasonOf(error, run.dir, run.shown)}`;
}

/**
 * Relatedness and attention maps need the model rebuilt and its checkpoint loaded, once for both. A run
 * without a checkpoint shows neither, a method without `explain` no attention maps; a checkpoint this
 * version cannot read (an earlier format) or a run it cannot rebuild is named, not fatal: the rest of the
 * report comes from the run's records.
 */
async function checkpointAnalysesOf(
  kernel: Kernel,
  run: { readonly dir: string; readonly shown: string } | undefined,
): Promise<CheckpointAnalyses> {
  if (!run) return {};
  const folder = new RunDir(run.dir);
  if (!(await folder.hasCheckpoint('best')) && !(await folder.hasCheckpoint('last'))) return {};
  let explains = false;
  let initial: StageValues | undefined;
  try {
    return await withRunCheckpoint(
      kernel,
      run.dir,
      'auto',
      async (experiment, metadata): Promise<CheckpointAnalyses> => {
        const from = { ...metadata, runDir: run.dir };
        const relatedness = await experimentRelatedness(experiment, from, initial);
        if (!explains) return { relatedness };
        try {
          return { relatedness, attention: await attentionMaps(experiment, from, REPORT_ATTENTION) };
        } catch (error) {
          if (!(error instanceof MtlzooError)) throw error;
          return { relatedness, attentionError: checkpointReason(error, run) };
        }
      },
      async (experiment) => {
        explains = experiment.model.explain !== undefined;
        initial = await stageValues(experiment.model);
      },
    );
  } catch (error) {
    if (!(error instanceof MtlzooError)) throw error;
    const reason = checkpointReason(error, run);
    return { relatednessError: reason, ...(explains ? { attentionError: reason } : {}) };
  }
}

/** What the report reads from one run folder on this machine. */
interface RunContents {
  readonly dir: string;
  /** The folder as the report prints it. */
  readonly shown: string;
  readonly seed: number;
  readonly summary: TrainSummary;
  readonly probes: readonly ProbeRecord[];
}

/** A run folder's summary and probe records; throws (with the file) when they cannot be read. */
async function readRun(dir: string, shown: string, seed: number): Promise<RunContents> {
  const run = new RunDir(dir);
  if (!(await isFile(run.path('config')))) {
    throw new MtlzooError('DATA_INVALID', `${dir} has no ${path.basename(run.path('config'))}`);
  }
  if (!(await isFile(run.path('summary')))) {
    throw new MtlzooError('DATA_INVALID', `${dir} has no ${path.basename(run.path('summary'))}`);
  }
  const summary = (await readJson(run.path('summary'))) as TrainSummary;
  if (!Array.isArray(summary?.test)) {
    throw new MtlzooError('DATA_INVALID', `${run.path('summary')}: test: expected the run's test metrics`);
  }
  return { dir, shown, seed, summary, probes: probeRecordsOf(await run.readMetrics()) };
}

/**
 * Probe summary, relatedness and attention maps of a method from the run folders read (the first one for
 * the relatedness and the maps); a bench's angle curve, where results.json has one, brings its intervals
 * and the within-task angle.
 */
async function fromRunContents(
  kernel: Kernel,
  found: readonly RunContents[],
  curve?: AngleCurve,
): Promise<Pick<ReportMethod, 'angle' | 'cosine'> & CheckpointAnalyses> {
  const probed = probeSummary(found.map((r) => ({ seed: r.seed, records: r.probes })));
  return {
    ...probed,
    ...(curve ? { angle: withIntervals(curve, probed.angle) } : {}),
    ...(await checkpointAnalysesOf(kernel, found[0])),
  };
}

const single = (value: number) => meanAndSpread([value]);

async function fromRun(kernel: Kernel, dir: string): Promise<ReportData> {
  const run = await RunDir.open(dir);
  if (!(await isFile(run.path('summary')))) {
    throw new MtlzooError('USAGE', `${run.dir} has no summary.json: the run has not finished`, 2);
  }
  const loaded = await loadRunConfig(kernel, run);
  const folder = path.basename(run.dir);
  const contents = await readRun(run.dir, folder, loaded.config.seed);
  const { summary } = contents;
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
        dir: folder,
        seed: loaded.config.seed,
        configHash: summary.configHash,
        weightsSha256: summary.weightsSha256,
        here: true,
        test: summary.test,
      },
    ],
    ...(await fromRunContents(kernel, [contents])),
  };
  return {
    title: `${summary.method} on ${summary.dataset}`,
    source: 'run',
    folder,
    date: (await fs.stat(run.path('summary'))).mtime.toISOString(),
    dataset: summary.dataset,
    backbone: summary.backbone,
    tasks: summary.tasks,
    steps: summary.steps,
    seeds: [loaded.config.seed],
    metrics,
    environment: summary.environment,
    methods: [method],
    missingRuns: [],
    unreadableRuns: [],
  };
}

async function fromBench(kernel: Kernel, dir: string, results: ResultsFile): Promise<ReportData> {
  const methods: ReportMethod[] = [];
  const missingRuns: string[] = [];
  const unreadableRuns: UnreadableRun[] = [];
  const places = locateRuns(
    dir,
    results.rows.flatMap((r) => r.runDirs),
  );
  let next = 0;
  for (const row of results.rows) {
    const runs: ReportRun[] = [];
    const found: RunContents[] = [];
    for (const [i, seed] of row.seeds.entries()) {
      const place = places[next + i];
      if (!place) break;
      const located = await findRun(place.candidates);
      let contents: RunContents | undefined;
      let unreadable: string | undefined;
      if (located) {
        try {
          contents = await readRun(located, place.shown, seed);
          found.push(contents);
        } catch (error) {
          unreadable = reasonOf(error, located, place.shown);
          unreadableRuns.push({ dir: place.shown, reason: unreadable });
        }
      } else {
        missingRuns.push(place.shown);
      }
      runs.push({
        dir: place.shown,
        seed,
        configHash: row.configHashes[i] ?? '',
        weightsSha256: row.weightsSha256[i] ?? '',
        here: located !== undefined,
        ...(unreadable !== undefined ? { unreadable } : {}),
        ...(contents ? { test: contents.summary.test } : {}),
      });
    }
    methods.push({
      label: row.label,
      method: methodDisplay(row.method),
      metrics: row.metrics,
      perTask: row.perTask,
      ...(row.deltaM ? { deltaM: row.deltaM } : {}),
      params: row.params,
      msPerStep: row.msPerStep,
      runs,
      ...(await fromRunContents(kernel, found, row.gradients?.curve)),
    });
    next += row.runDirs.length;
  }
  return {
    title: results.entry,
    description: results.description,
    ...(results.pending
      ? { interim: interimNote(results.pending, results.rows.length, results.baseline) }
      : {}),
    source: 'bench',
    folder: path.basename(dir),
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
    missingRuns,
    unreadableRuns,
  };
}

/** A bench folder (holding results.json) or a run directory (holding config.yaml). */
export async function loadReportData(kernel: Kernel, dir: string): Promise<ReportData> {
  const absolute = path.resolve(dir);
  const results = path.join(absolute, 'results.json');
  return (await isFile(results))
    ? fromBench(kernel, absolute, await readResults(results))
    : fromRun(kernel, absolute);
}
