/**
 * Task relatedness read off the learned task-specific parameters: per stage, the cosine similarity between
 * the tasks' variables (modulation vectors or matrices, CSN masks, cross-stitch rows, per-task heads).
 *
 * With the variables' initial values (the run's model rebuilt from its config and seed, before its checkpoint
 * is loaded), each stage also says how far every task's variable moved in training and the cosine between
 * those moves: cosines of the variables themselves are dominated by their common starting point (all
 * ones for modulation vectors) when they move little, so only the moves tell coupled tasks from tasks
 * that barely trained.
 *
 * A stage is a set of per-task variables as the methods' `perTaskVariables` lays them out: names
 * `<stage>/task<t>`, one per task, owned by that task, all of one shape. Whole per-task networks
 * (separate, cross-stitch columns) are not compared: their weights have no common coordinate system.
 */
import type { TaskInfo } from '../kinds/dataset.js';
import type { MtlModel, ParameterEntry } from '../kinds/method.js';
import type { Experiment, Kernel } from '../kernel/kernel.js';
import { relatednessMatrix, type Matrix } from '../metrics/gradients.js';
import { withRunCheckpoint, type CheckpointChoice } from './run-checkpoint.js';

export interface StageRelatedness {
  /** Variable name without the `/task<t>` suffix, e.g. `modulation/conv3`. */
  readonly stage: string;
  /** Shape of each task's variable. */
  readonly shape: readonly number[];
  /** Whether ReLU(v) was compared (the method applies it before use). */
  readonly rectified: boolean;
  readonly matrix: Matrix;
  /** How the tasks' variables moved from their initial values; absent when those were not given. */
  readonly change?: StageChange;
}

export interface StageChange {
  /** Per task, the L2 norm of (applied) final minus initial value. */
  readonly norms: readonly number[];
  /** Task × task cosine of those moves (NaN for a task that did not move). */
  readonly matrix: Matrix;
}

/** Values of the per-task variables, by name, to be handed back to `modelRelatedness` as initial values. */
export type StageValues = ReadonlyMap<string, ArrayLike<number>>;

/** Per-task variables grouped by stage, in parameter order; stages missing a task or mixing shapes are left out. */
export function perTaskStages(parameters: readonly ParameterEntry[], taskCount: number): ParameterEntry[][] {
  const stages = new Map<string, ParameterEntry[]>();
  for (const p of parameters) {
    if (!p.trainable || p.owner === 'shared') continue;
    const suffix = `/task${p.owner.task}`;
    if (!p.name.endsWith(suffix)) continue;
    const stage = p.name.slice(0, -suffix.length);
    const entries = stages.get(stage) ?? [];
    entries[p.owner.task] = p;
    stages.set(stage, entries);
  }
  return [...stages.values()].filter((entries) => {
    const first = entries[0];
    return (
      first !== undefined &&
      entries.length === taskCount &&
      entries.every((e) => e !== undefined && e.variable.shape.join() === first.variable.shape.join())
    );
  });
}

/** The current values of every per-task stage variable of a model (e.g. right after it was built). */
export async function stageValues(model: MtlModel): Promise<StageValues> {
  const entries = perTaskStages(model.parameters(), model.taskCount).flat();
  const values = await Promise.all(entries.map((e) => e.variable.data()));
  return new Map(entries.map((e, i) => [e.name, values[i]!]));
}

/** One task per row, `ReLU` applied when the method applies it, in float64. */
function appliedRows(rows: readonly ArrayLike<number>[], rectify: boolean): Float64Array[] {
  return rows.map((r) => Float64Array.from(r, (v) => (rectify ? Math.max(0, v) : v)));
}

function flatten(rows: readonly Float64Array[]): Float64Array {
  const flat = new Float64Array(rows.reduce((n, r) => n + r.length, 0));
  rows.reduce((offset, r) => (flat.set(r, offset), offset + r.length), 0);
  return flat;
}

/**
 * The relatedness matrix of every per-task stage of a model, in parameter order; with `initial` (from
 * `stageValues` on the freshly built model), also how each task's variable moved.
 */
export async function modelRelatedness(model: MtlModel, initial?: StageValues): Promise<StageRelatedness[]> {
  const stages = perTaskStages(model.parameters(), model.taskCount);
  return Promise.all(
    stages.map(async (entries) => {
      const first = entries[0]!;
      // The method says when it uses ReLU of these variables; then their rectified values are compared.
      const rectified = first.appliedAs === 'relu';
      const rows = appliedRows(await Promise.all(entries.map((e) => e.variable.data())), rectified);
      const stage: StageRelatedness = {
        stage: first.name.slice(0, first.name.lastIndexOf('/task')),
        shape: first.variable.shape,
        rectified,
        matrix: relatednessMatrix(flatten(rows), model.taskCount),
      };
      const starts = entries.map((e) => initial?.get(e.name));
      if (starts.some((v) => v === undefined)) return stage;
      const moves = appliedRows(starts as ArrayLike<number>[], rectified).map((start, t) =>
        rows[t]!.map((v, c) => v - start[c]!),
      );
      return {
        ...stage,
        change: {
          // A loop, not Math.hypot(...m): a stage may hold more values than a call takes arguments.
          norms: moves.map((m) => Math.sqrt(m.reduce((sum, d) => sum + d * d, 0))),
          matrix: relatednessMatrix(flatten(moves), model.taskCount),
        },
      };
    }),
  );
}

/** Mean similarity of task pairs that share a generating factor against pairs that share none. */
export interface FactorComparison {
  readonly sharing: { readonly pairs: readonly string[]; readonly mean: number };
  readonly other: { readonly pairs: readonly string[]; readonly mean: number };
}

/** Undefined when either kind of pair is absent (no factors known, or every pair shares one). */
export function compareWithFactors(
  matrix: Matrix,
  tasks: readonly Pick<TaskInfo, 'name' | 'factors'>[],
): FactorComparison | undefined {
  const groups = { sharing: { pairs: [] as string[], sum: 0 }, other: { pairs: [] as string[], sum: 0 } };
  for (let i = 0; i < tasks.length; i++) {
    for (let j = i + 1; j < tasks.length; j++) {
      const value = matrix[i]![j]!;
      if (Number.isNaN(value)) continue;
      const shares = tasks[i]!.factors.some((f) => tasks[j]!.factors.includes(f));
      const group = shares ? groups.sharing : groups.other;
      group.pairs.push(`${tasks[i]!.name}~${tasks[j]!.name}`);
      group.sum += value;
    }
  }
  if (groups.sharing.pairs.length === 0 || groups.other.pairs.length === 0) return undefined;
  const summary = (g: { pairs: string[]; sum: number }) => ({ pairs: g.pairs, mean: g.sum / g.pairs.length });
  return { sharing: summary(groups.sharing), other: summary(groups.other) };
}

export interface RunRelatedness {
  readonly runDir: string;
  readonly checkpoint: string;
  readonly step: number;
  readonly method: string;
  readonly tasks: readonly string[];
  /** Generating factors of each task, as the dataset declares them. */
  readonly factors: readonly (readonly string[])[];
  readonly stages: readonly (StageRelatedness & { readonly byFactor?: FactorComparison })[];
}

/** Relatedness of a run's rebuilt model, its checkpoint loaded (as `withRunCheckpoint` hands it over). */
export async function experimentRelatedness(
  experiment: Experiment,
  {
    runDir,
    checkpoint,
    step,
  }: { readonly runDir: string; readonly checkpoint: string; readonly step: number },
  initial?: StageValues,
): Promise<RunRelatedness> {
  const { tasks } = experiment.dataset;
  const stages = await modelRelatedness(experiment.model, initial);
  return {
    runDir,
    checkpoint,
    step,
    method: experiment.loaded.config.method.name,
    tasks: tasks.map((t) => t.name),
    factors: tasks.map((t) => t.factors),
    stages: stages.map((s) => {
      const byFactor = compareWithFactors(s.matrix, tasks);
      return byFactor ? { ...s, byFactor } : s;
    }),
  };
}

/**
 * Relatedness of a run's checkpoint ('auto': best, else last), with the moves from the initial values
 * the run's config and seed give.
 */
export async function runRelatedness(
  kernel: Kernel,
  runDir: string,
  which: CheckpointChoice = 'auto',
): Promise<RunRelatedness> {
  let initial: StageValues | undefined;
  return withRunCheckpoint(
    kernel,
    runDir,
    which,
    (experiment, metadata) => experimentRelatedness(experiment, { ...metadata, runDir }, initial),
    async (experiment) => void (initial = await stageValues(experiment.model)),
  );
}
