/**
 * Task relatedness read off the learned task-specific parameters: per stage, the cosine similarity between
 * the tasks' variables (modulation vectors or matrices, CSN masks, cross-stitch rows, per-task heads).
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
}

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

/** The relatedness matrix of every per-task stage of a model, in parameter order. */
export async function modelRelatedness(model: MtlModel): Promise<StageRelatedness[]> {
  const stages = perTaskStages(model.parameters(), model.taskCount);
  return Promise.all(
    stages.map(async (entries) => {
      const first = entries[0]!;
      // The method says when it uses ReLU of these variables; then their rectified values are compared.
      const rectified = first.appliedAs === 'relu';
      const rows = await Promise.all(entries.map((e) => e.variable.data()));
      const flat = new Float64Array(rows.reduce((n, r) => n + r.length, 0));
      rows.reduce((offset, r) => (flat.set(r, offset), offset + r.length), 0);
      return {
        stage: first.name.slice(0, first.name.lastIndexOf('/task')),
        shape: first.variable.shape,
        rectified,
        matrix: relatednessMatrix(flat, model.taskCount, { rectify: rectified }),
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
): Promise<RunRelatedness> {
  const { tasks } = experiment.dataset;
  const stages = await modelRelatedness(experiment.model);
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

/** Relatedness of a run's checkpoint ('auto': best, else last). */
export async function runRelatedness(
  kernel: Kernel,
  runDir: string,
  which: CheckpointChoice = 'auto',
): Promise<RunRelatedness> {
  return withRunCheckpoint(kernel, runDir, which, (experiment, metadata) =>
    experimentRelatedness(experiment, { ...metadata, runDir }),
  );
}
