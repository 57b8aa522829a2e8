/**
 * The runs of a bench: one per method, grid point and seed, each an ordinary run folder under the bench
 * folder (`<label>/seed-<seed>`), trained from an input config the bench writes beside it. Local benches
 * and queued ones (src/queue) expand a recipe through this one door, so both train the same configs into
 * the same layout.
 */
import path from 'node:path';
import { stringify } from 'yaml';
import type { LoadedConfig } from '../config/load.js';
import { isPlainObject } from '../config/resolve.js';
import { ConfigError, MtlzooError, type ConfigIssue } from '../errors.js';
import type { Kernel } from '../kernel/kernel.js';
import { resumeRun, trainRun, type RunOptions } from '../engine/run.js';
import { RunDir } from '../engine/run-dir.js';
import type { TrainSummary } from '../engine/trainer.js';
import { displayPath } from '../util/paths.js';
import { removePath, writeFileAtomic } from '../util/write.js';
import type { BenchPlan } from './plan.js';
import type { LoadedRecipe, Recipe } from './recipe.js';

/** One point of a recipe's grid: a value per key, with the index of the value in the recipe's list. */
interface GridPoint {
  readonly values: Readonly<Record<string, unknown>>;
  readonly indices: Readonly<Record<string, number>>;
  readonly name: string;
}

/** One run of a bench. */
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

export interface BenchRun extends BenchRowSpec {
  readonly seed: number;
  /** The run folder, relative to the bench folder. */
  readonly folder: string;
  /** Where in the recipe's grid each value comes from (for errors). */
  readonly gridIndices?: Readonly<Record<string, number>>;
}

/** A run with its input config written and loaded. */
export interface PreparedRun extends BenchRun {
  /** The input config file, beside the run folder. */
  readonly input: string;
  readonly loaded: LoadedConfig;
}

function formatValue(value: unknown): string {
  return Array.isArray(value)
    ? value.map(formatValue).join('+')
    : typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : JSON.stringify(value);
}

/** Every combination of the grid's values, the first key varying slowest; [undefined] without a grid. */
function gridPoints(grid: Recipe['grid']): (GridPoint | undefined)[] {
  const keys = Object.keys(grid ?? {});
  if (keys.length === 0) return [undefined];
  // A key is named by its last segment unless another key ends the same way.
  const last = keys.map((k) => k.split('.').at(-1)!);
  const short = keys.map((k, i) => (last.filter((l) => l === last[i]).length > 1 ? k : last[i]!));
  let points: { values: Record<string, unknown>; indices: Record<string, number> }[] = [
    { values: {}, indices: {} },
  ];
  for (const key of keys) {
    points = points.flatMap((p) =>
      grid![key]!.map((value, index) => ({
        values: { ...p.values, [key]: value },
        indices: { ...p.indices, [key]: index },
      })),
    );
  }
  return points.map((p) => ({
    ...p,
    name: keys
      .map((k, i) => `${short[i]}=${formatValue(p.values[k])}`)
      .join(',')
      // One folder name: no separators or control characters.
      .replace(/[/\\]/g, '_')
      .replace(/\p{Cc}/gu, '_'),
  }));
}

/** The bench's rows, in the recipe's method order, each method at every grid point. */
export function benchRows(entry: LoadedRecipe, plan: BenchPlan): BenchRowSpec[] {
  const methods = entry.recipe.methods.filter((m) => plan.methods.includes(m.label));
  const points = gridPoints(entry.recipe.grid);
  return methods.flatMap(({ label, method, weighting }) =>
    points.map((point) => ({
      label: point ? `${label}@${point.name}` : label,
      methodLabel: label,
      method,
      ...(weighting !== undefined ? { weighting } : {}),
      ...(point ? { point: point.values, pointName: point.name } : {}),
    })),
  );
}

/** Every run of the bench, row by row, seed by seed. */
export function benchRuns(entry: LoadedRecipe, plan: BenchPlan): BenchRun[] {
  const points = new Map(gridPoints(entry.recipe.grid).map((p) => [p?.name, p]));
  const rows = benchRows(entry, plan);
  const labels = rows.map((r) => r.label);
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (twice !== undefined) {
    throw new ConfigError([
      {
        file: entry.shown,
        path: 'grid',
        message: `two grid points are both named ${twice}; make the values differ`,
      },
    ]);
  }
  return rows.flatMap((row) =>
    plan.seeds.map((seed) => ({
      ...row,
      seed,
      folder: path.join(row.label, `seed-${seed}`),
      ...(row.pointName === undefined ? {} : { gridIndices: points.get(row.pointName)!.indices }),
    })),
  );
}

/** Sets `value` at the dotted `key` of `target`, creating objects on the way. */
function setDotted(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/**
 * The input config of one run: the recipe's base config with the row's method (and weighting), seed, budget
 * and grid point set.
 */
export function runConfigText(
  recipe: LoadedRecipe,
  row: Pick<BenchRowSpec, 'method' | 'weighting'>,
  seed: number,
  steps?: number,
  point?: Readonly<Record<string, unknown>>,
): string {
  const ref = (r: NonNullable<BenchRowSpec['weighting']>) =>
    typeof r === 'string' ? { name: r } : structuredClone(r);
  const override: Record<string, unknown> = {
    extends: recipe.configFile,
    seed,
    method: ref(row.method),
  };
  const train = {
    ...(steps !== undefined ? { steps } : {}),
    ...(row.weighting !== undefined ? { weighting: ref(row.weighting) } : {}),
  };
  if (Object.keys(train).length > 0) override.train = train;
  for (const [key, value] of Object.entries(point ?? {})) setDotted(override, key, value);
  return `# generated by mtlzoo bench from ${recipe.file}\n${stringify(override)}`;
}

/** An issue a grid value caused, moved to the recipe's `grid.<key>[i]`; undefined for another issue. */
function atGrid(issue: ConfigIssue, entry: LoadedRecipe, run: BenchRun): ConfigIssue | undefined {
  const key = Object.keys(run.gridIndices ?? {}).find(
    (k) => issue.path === k || issue.path.startsWith(`${k}.`) || issue.path.startsWith(`${k}[`),
  );
  if (key === undefined) return undefined;
  const index = run.gridIndices![key]!;
  const line = entry.lineOf(['grid', key, index]);
  return {
    file: entry.shown,
    path: `grid.${key}[${index}]`,
    message: `${issue.path === key ? '' : `${issue.path}: `}${issue.message.replace(/ \(line \d+\)$/, '')}${line === undefined ? '' : ` (line ${line})`}`,
  };
}

/**
 * An issue under `method` or `train.weighting` (a name the base config's plugins lack, refused options),
 * moved to the recipe's row.
 */
function atMethod(issue: ConfigIssue, entry: LoadedRecipe, run: BenchRun): ConfigIssue | undefined {
  const at = /^method(\.|$)/.test(issue.path)
    ? 'method'
    : /^train\.weighting(\.|$)/.test(issue.path)
      ? 'weighting'
      : undefined;
  if (!at) return undefined;
  const index = entry.recipe.methods.findIndex((m) => m.label === run.methodLabel);
  const given = entry.recipe.methods[index]![at];
  const rest = issue.path.slice(at === 'method' ? 'method'.length : 'train.weighting'.length);
  const unknown = rest === '.name' && issue.message.startsWith(`unknown ${at}`);
  return {
    file: entry.shown,
    path: `methods[${index}].${at}${typeof given === 'string' && rest === '.name' ? '' : rest}`,
    message:
      issue.message.replace(/ \(line \d+\)$/, '') +
      (unknown
        ? `; the base config ${entry.recipe.config} must list the plugin that provides it under plugins:`
        : ''),
  };
}

/**
 * Writes every run's input config beside its folder in `dir` and loads it, so a bad config, method or grid
 * value is refused before anything trains, rather than hours in. A problem a grid value or a method of the
 * recipe caused is reported where the recipe sets it (`grid.<key>[i]`, `methods[i].method`), not in the
 * generated config.
 */
export async function prepareRuns(
  kernel: Kernel,
  entry: LoadedRecipe,
  plan: BenchPlan,
  dir: string,
): Promise<PreparedRun[]> {
  const prepared: PreparedRun[] = [];
  const issues: ConfigIssue[] = [];
  for (const run of benchRuns(entry, plan)) {
    const input = path.join(dir, `${run.folder}.input.yaml`);
    await writeFileAtomic(input, runConfigText(entry, run, run.seed, plan.steps ?? undefined, run.point));
    try {
      prepared.push({ ...run, input, loaded: await kernel.loadConfig(input) });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) {
        const located =
          issue.file === displayPath(input)
            ? (atGrid(issue, entry, run) ?? atMethod(issue, entry, run) ?? issue)
            : issue;
        if (
          !issues.some(
            (i) => i.file === located.file && i.path === located.path && i.message === located.message,
          )
        )
          issues.push(located);
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return prepared;
}

/** Keeps a finished run, resumes an unfinished one, or trains it from the start; returns its summary. */
export async function trainOrResume(
  kernel: Kernel,
  runDir: string,
  loaded: LoadedConfig,
  options: RunOptions & { mismatch: string },
): Promise<TrainSummary> {
  const existing = await RunDir.open(runDir).catch(() => undefined);
  if (!existing) {
    // A folder never filled (stopped before the run's config was written) is started again.
    await removePath(runDir);
    await trainRun(kernel, loaded, {
      ...options,
      outputDir: path.dirname(runDir),
      name: path.basename(runDir),
    });
  } else {
    await resumeRun(kernel, runDir, {
      ...options,
      expectConfigHash: { hash: loaded.hash, reason: options.mismatch },
    });
  }
  const summary = await new RunDir(runDir).readSummary();
  if (!summary) throw new MtlzooError('DATA_INVALID', `${runDir}: trained, but it holds no summary`);
  return summary;
}
