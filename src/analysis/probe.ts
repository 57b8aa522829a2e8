/**
 * Gradient-direction probe (the paper's central measurement): the gradient each task's loss puts on the
 * SHARED trainable parameters, compared across tasks by cosine and angle, per shared variable ("layer") and
 * over all shared parameters at once. Gradients are computed and read back, never applied.
 *
 * The probe measures on a fixed set of `train.probe.tripletsPerTask` triplets per task, drawn once from
 * `train.probe.split` (default: the validation split) with a seed of its own, so successive probes of a
 * run see the same triplets and a curve over steps shows the model changing, not the batches. Negatives
 * are mined within each task's set (`train.probe.mining`, default hard: each anchor's closest negative in
 * the set), which keeps the loss active, and so the gradient defined, after the model solves random
 * triplets. Each task's set is split into two halves whose gradients are taken
 * separately: their sum is the task's gradient, and the angle between them is the task's own noise floor
 * (how far two batches of ONE task disagree), against which the across-task angles can be read.
 *
 * BatchNorm runs in training mode like a real step, and its moving statistics are restored afterwards, so
 * a run with the probe ends with bit-identical weights to one without.
 */
import type { LoadedConfig } from '../config/load.js';
import { MtlzooError } from '../errors.js';
import type { Dataset, DatasetSplit } from '../kinds/dataset.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import type { MtlModel, ParameterEntry } from '../kinds/method.js';
import type { Kernel } from '../kernel/kernel.js';
import { preservingState, tripletLosses, withPenalty } from '../engine/objective.js';
import { pixelsToTensor } from '../engine/pixels.js';
import type { TrainerHook, TrainingContext } from '../engine/hooks.js';
import type { MiningMode } from '../engine/mining.js';
import {
  cosineFromGram,
  cosineToDegrees,
  gramMatrix,
  meanOffDiagonalAngle,
  sumMatrices,
  type Matrix,
} from '../metrics/gradients.js';
import * as tf from '../tf.js';
import { TripletSampler, uniqueImages, type TripletBatch, type UniqueImages } from '../train/sampler.js';
import { hashString } from '../util/random.js';
import { withRunCheckpoint } from './run-checkpoint.js';

/** Task × task geometry of one set of per-task gradients. */
export interface PairStats {
  /** Cosine between the tasks' gradients; NaN (null in JSON) where a task's gradient is zero. */
  readonly cosine: Matrix;
  /** Mean angle in degrees over the distinct task pairs. */
  readonly meanAngle: number;
  /** L2 norm of each task's gradient. */
  readonly norm: readonly number[];
  /**
   * Per task, the cosine between the gradients of the two halves of its probe triplets: how well one task
   * agrees with itself across batches (absent when the gradients were not taken in halves).
   */
  readonly within?: readonly number[];
  /** Mean over tasks of the angle between a task's halves, in degrees: the noise floor of `meanAngle`. */
  readonly withinAngle?: number;
}

export interface GradientStatistics {
  /** Per shared trainable variable, by its name. */
  readonly layers: Readonly<Record<string, PairStats>>;
  /** Over all shared trainable parameters, as one concatenated vector per task. */
  readonly all: PairStats;
}

/** A metrics.jsonl record. */
export interface ProbeRecord extends GradientStatistics {
  readonly type: 'probe';
  /**
   * Optimiser steps completed when measured; with `batch: 'training'`, the update whose batch was measured
   * (at the weights before it, one update earlier than the probe's own batch would be).
   */
  readonly step: number;
  readonly tasks: readonly string[];
  readonly tripletsPerTask: number;
  /**
   * `training`: the per-task gradients a gradient-based weighting computed on the training batch of this
   * update, reused (no extra passes); absent: the probe's own batch.
   */
  readonly batch?: 'training';
  /** Where the probe triplets came from and how negatives were chosen (absent in older records). */
  readonly split?: 'train' | 'val';
  readonly mining?: MiningMode;
  /** Per task, probe triplets with a positive loss: those that shaped the gradient. */
  readonly active?: readonly number[];
}

/** Per-task gradients of the shared parameters, `[task][variable]`, flattened. */
export type GradientSet = readonly (readonly Float32Array[])[];

export interface TaskGradients {
  readonly names: readonly string[];
  /** Each task's gradient (the sum of its halves' when there are halves). */
  readonly values: GradientSet;
  /** The gradients of the two halves of each task's probe triplets, when taken separately. */
  readonly halves?: readonly [GradientSet, GradientSet];
}

function statsFromGram(gram: Matrix, within?: number[]): PairStats {
  const cosine = cosineFromGram(gram);
  const stats = {
    cosine,
    meanAngle: meanOffDiagonalAngle(cosine),
    norm: gram.map((row, i) => Math.sqrt(row[i]!)),
  };
  if (!within) return stats;
  const angles = within.filter((c) => !Number.isNaN(c)).map(cosineToDegrees);
  const withinAngle = angles.length > 0 ? angles.reduce((a, b) => a + b, 0) / angles.length : NaN;
  return { ...stats, within, withinAngle };
}

/**
 * Statistics from the 2T × 2T Gram matrix of the halves (`[a0 … aT−1, b0 … bT−1]`): the tasks' Gram
 * matrix is the sum of the four T × T blocks (g = a + b), and the within-task cosines come from the
 * diagonal of the a·b block.
 */
function statsFromHalvesGram(gram: Matrix): PairStats {
  const t = gram.length / 2;
  const tasks = Array.from({ length: t }, (_, i) =>
    Array.from(
      { length: t },
      (_, j) => gram[i]![j]! + gram[i]![t + j]! + gram[t + i]![j]! + gram[t + i]![t + j]!,
    ),
  );
  const halves = cosineFromGram(gram);
  return statsFromGram(
    tasks,
    Array.from({ length: t }, (_, i) => halves[i]![t + i]!),
  );
}

/**
 * Cosines and angles per variable and over all of them. The Gram matrix of the concatenation is the sum
 * of the per-variable Gram matrices, so nothing is concatenated.
 */
export function gradientStatistics(gradients: TaskGradients): GradientStatistics {
  const { names, values, halves } = gradients;
  const vectors = (v: number) =>
    halves
      ? [...halves[0].map((task) => task[v]!), ...halves[1].map((task) => task[v]!)]
      : values.map((task) => task[v]!);
  const grams = names.map((_, v) => gramMatrix(vectors(v)));
  const stats = halves ? statsFromHalvesGram : (gram: Matrix) => statsFromGram(gram);
  return {
    layers: Object.fromEntries(names.map((name, v) => [name, stats(grams[v]!)])),
    all: stats(sumMatrices(grams)),
  };
}

/**
 * Gradient of `objective` with respect to each variable, read back to the host (asynchronously: a GPU engine
 * has no synchronous read) and not applied; zeros for a variable the objective does not reach.
 */
export async function gradientsOf(
  objective: () => tf.Scalar,
  variables: readonly tf.Variable[],
): Promise<Float32Array[]> {
  const { value, grads } = tf.variableGrads(objective, [...variables]);
  try {
    return await Promise.all(
      variables.map(async (v) => {
        const grad = grads[v.name];
        // A copy: some backends hand out views of memory that is reused once the tensor is gone.
        return grad ? Float32Array.from(await grad.data()) : new Float32Array(v.size);
      }),
    );
  } finally {
    value.dispose();
    tf.dispose(grads);
  }
}

/** The triplets of task `task` in a batch (grouped by task, as the sampler lays them out), from `from` to `to`. */
function taskSlice(batch: TripletBatch, task: number, from = 0, to = Infinity): TripletBatch {
  const start = batch.taskIds.indexOf(task);
  const end = batch.taskIds.lastIndexOf(task) + 1;
  const [a, b] = [start + from, Math.min(end, start + to)];
  return {
    taskIds: batch.taskIds.subarray(a, b),
    anchor: batch.anchor.subarray(a, b),
    positive: batch.positive.subarray(a, b),
    negative: batch.negative.subarray(a, b),
  };
}

/** What the probe needs from a trainer or a built experiment. */
export interface ProbeParts {
  readonly loaded: LoadedConfig;
  readonly dataset: Dataset;
  readonly model: MtlModel;
  readonly loss: TripletLossFunction;
}

/** `train.probe` with the defaults of the optional keys applied. */
export interface ProbeSettings {
  readonly every: number;
  readonly tripletsPerTask: number;
  readonly split: 'train' | 'val';
  readonly mining: MiningMode;
}

export function probeSettings(loaded: LoadedConfig): ProbeSettings {
  const { every, tripletsPerTask, split, mining } = loaded.config.train.probe;
  return { every, tripletsPerTask, split: split ?? 'val', mining: mining ?? 'hard' };
}

/** One half of a task's probe triplets, with its images decoded once. */
interface ProbeHalf {
  readonly samples: UniqueImages;
  readonly pixels: Uint8Array;
}

export class GradientProbe {
  readonly shared: readonly ParameterEntry[];
  readonly settings: ProbeSettings;
  private readonly split: DatasetSplit;
  private readonly triplets: TripletBatch;
  /** Per task, its two halves (one when the set has a single triplet); decoded on first use. */
  private halves: readonly (readonly ProbeHalf[])[] | undefined;

  /** `tripletsPerTask` overrides the config's probe set size (a checkpoint probed after training). */
  constructor(
    private readonly parts: ProbeParts,
    overrides: { readonly tripletsPerTask?: number } = {},
  ) {
    const { config } = parts.loaded;
    this.settings = { ...probeSettings(parts.loaded), ...overrides };
    this.shared = parts.model.parameters().filter((p) => p.trainable && p.owner === 'shared');
    this.split = parts.dataset.splits[this.settings.split];
    // A seed of its own: the training sampler's streams are keyed by the run seed and never touched. The
    // set is the sampler's batch 0 on the probe split, fixed for the whole run.
    this.triplets = new TripletSampler(
      this.split,
      parts.dataset.tasks,
      (hashString(`probe/${config.seed}`) ^ config.seed) >>> 0,
      { tripletsPerTask: this.settings.tripletsPerTask },
    ).batch(0);
  }

  private async probeHalves(): Promise<readonly (readonly ProbeHalf[])[]> {
    if (this.halves) return this.halves;
    const n = this.settings.tripletsPerTask;
    const cut = Math.ceil(n / 2);
    const ranges =
      n > 1
        ? [
            [0, cut],
            [cut, n],
          ]
        : [[0, n]];
    const halves: ProbeHalf[][] = [];
    for (let t = 0; t < this.parts.dataset.tasks.length; t++) {
      const task: ProbeHalf[] = [];
      for (const [from, to] of ranges) {
        const samples = uniqueImages(taskSlice(this.triplets, t, from, to));
        task.push({ samples, pixels: await this.split.pixels(Array.from(samples.images)) });
      }
      halves.push(task);
    }
    this.halves = halves;
    return halves;
  }

  /**
   * Per-task gradients of the shared trainable parameters on the fixed probe set, and how many triplets of
   * each task were active.
   */
  async gradients(): Promise<TaskGradients & { readonly active: readonly number[] }> {
    const { model } = this.parts;
    const halves = await this.probeHalves();
    // Undo the BatchNorm moving-average updates the training-mode forward passes make.
    const taken = await preservingState(model, async () => {
      const all: { grads: Float32Array[]; active: number }[][] = [];
      for (const task of halves) {
        const got: { grads: Float32Array[]; active: number }[] = [];
        for (const half of task) got.push(await this.halfGradient(half));
        all.push(got);
      }
      return all;
    });
    const values = taken.map((task) =>
      this.shared.map((_, v) => {
        const sum = Float32Array.from(task[0]!.grads[v]!);
        for (const half of task.slice(1)) half.grads[v]!.forEach((g, i) => (sum[i]! += g));
        return sum;
      }),
    );
    const active = taken.map((task) => task.reduce((sum, half) => sum + half.active, 0));
    const split = taken.every((task) => task.length === 2);
    return {
      names: this.shared.map((p) => p.name),
      values,
      ...(split
        ? {
            halves: [taken.map((task) => task[0]!.grads), taken.map((task) => task[1]!.grads)] as const,
          }
        : {}),
      active,
    };
  }

  /** Gradient of the half's mean triplet loss, and its number of triplets with a positive loss. */
  private async halfGradient(half: ProbeHalf): Promise<{ grads: Float32Array[]; active: number }> {
    const { dataset, model, loss } = this.parts;
    const images = pixelsToTensor(half.pixels, dataset.imageShape);
    let perTriplet: tf.Tensor1D | undefined;
    try {
      const grads = await gradientsOf(
        () => {
          const objective = tripletLosses(
            model,
            loss,
            images,
            half.samples,
            this.settings.mining,
            this.split,
          );
          perTriplet = tf.keep(objective.losses);
          return withPenalty(tf.mean(objective.losses) as tf.Scalar, objective);
        },
        this.shared.map((p) => p.variable),
      );
      const active = ((await perTriplet!.data()) as Float32Array).filter((l) => l > 0).length;
      return { grads, active };
    } finally {
      images.dispose();
      perTriplet?.dispose();
    }
  }

  async measure(step: number): Promise<ProbeRecord> {
    const { active, ...gradients } = await this.gradients();
    return {
      type: 'probe',
      step,
      tasks: this.parts.dataset.tasks.map((t) => t.name),
      tripletsPerTask: this.settings.tripletsPerTask,
      split: this.settings.split,
      mining: this.settings.mining,
      active,
      ...gradientStatistics(gradients),
    };
  }
}

function noSharedParameters(method: string): MtlzooError {
  return new MtlzooError(
    'USAGE',
    `method ${method} has no shared trainable parameters, so tasks' gradients have nothing in common to compare`,
    2,
  );
}

/**
 * A trainer hook that probes every `train.probe.every` steps and appends the record to the run's
 * metrics.jsonl. When the trainer computes per-task gradients for that update anyway (a gradient-based
 * weighting strategy), the probe reads those — the training batch's, once per step — instead of drawing its
 * own batch. A method without shared parameters is reported once and skipped.
 */
export function gradientProbeHook(): TrainerHook {
  let probe: GradientProbe | undefined;
  let fromTraining: ProbeRecord | undefined;
  const probeOf = (context: TrainingContext) => {
    if (!probe) {
      probe = new GradientProbe(context);
      if (probe.shared.length === 0) {
        context.log.warn(
          `gradient probe off: ${noSharedParameters(context.loaded.config.method.name).message}`,
        );
      }
    }
    return probe;
  };
  return {
    name: 'gradient-probe',
    async afterBackward(pass, context) {
      const { every } = context.loaded.config.train.probe;
      const step = pass.step + 1;
      if (every === 0 || step % every !== 0 || !pass.taskGradients) return;
      const { shared } = probeOf(context);
      if (shared.length === 0) return;
      const values = await Promise.all(
        pass.taskGradients.map((grads) =>
          Promise.all(
            shared.map(async (p) => {
              const grad = grads[p.variable.name];
              return grad ? Float32Array.from(await grad.data()) : new Float32Array(p.variable.size);
            }),
          ),
        ),
      );
      fromTraining = {
        type: 'probe',
        step,
        tasks: context.dataset.tasks.map((t) => t.name),
        tripletsPerTask: context.loaded.config.train.batch.tripletsPerTask,
        batch: 'training',
        ...gradientStatistics({ names: shared.map((p) => p.name), values }),
      };
    },
    async afterStep(record, context) {
      const { every } = context.loaded.config.train.probe;
      if (every === 0 || record.step % every !== 0) return;
      if (fromTraining?.step === record.step) {
        await context.run.appendMetrics(fromTraining);
        fromTraining = undefined;
        return;
      }
      const { shared } = probeOf(context);
      if (shared.length > 0) await context.run.appendMetrics(await probe!.measure(record.step));
    },
  };
}

/**
 * Probes a run's checkpoint on demand, on the run's fixed probe set (or one of `tripletsPerTask` triplets
 * per task drawn the same way), recorded as the checkpoint's step.
 */
export async function probeCheckpoint(
  kernel: Kernel,
  runDir: string,
  which: 'best' | 'last',
  overrides: { readonly tripletsPerTask?: number } = {},
): Promise<ProbeRecord> {
  return withRunCheckpoint(kernel, runDir, which, async (experiment, { step }) => {
    const probe = new GradientProbe(experiment, overrides);
    if (probe.shared.length === 0) throw noSharedParameters(experiment.loaded.config.method.name);
    return probe.measure(step);
  });
}

/** JSON writes NaN as null; this turns probe records read back from a log into numbers again. */
export function probeRecordsOf(records: readonly Record<string, unknown>[]): ProbeRecord[] {
  const revive = (value: unknown): unknown =>
    value === null ? Number.NaN : Array.isArray(value) ? value.map(revive) : value;
  const stats = (s: PairStats): PairStats => ({
    cosine: revive(s.cosine) as Matrix,
    meanAngle: revive(s.meanAngle) as number,
    norm: s.norm,
    ...(s.within
      ? { within: revive(s.within) as number[], withinAngle: revive(s.withinAngle) as number }
      : {}),
  });
  return records
    .filter((r) => r.type === 'probe')
    .map((r) => {
      const record = r as unknown as ProbeRecord;
      return {
        ...record,
        layers: Object.fromEntries(Object.entries(record.layers).map(([name, s]) => [name, stats(s)])),
        all: stats(record.all),
      };
    });
}
