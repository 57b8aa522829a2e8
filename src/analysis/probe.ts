/**
 * Gradient-direction probe (the paper's central measurement): the gradient each task's loss puts on the
 * SHARED trainable parameters, compared across tasks by cosine and angle, per shared variable ("layer") and
 * over all shared parameters at once. Gradients are computed and read back, never applied.
 *
 * Each task gets its own batch of the same size (`train.probe.tripletsPerTask` triplets), drawn by a sampler
 * with its own seed, so the probe never consumes or shifts the training batches; the per-task gradient is
 * what a step on that task's batch alone would follow (mining as in training, no flips). BatchNorm runs in
 * training mode like a real step, and its moving statistics are restored afterwards, so a run with the
 * probe ends with bit-identical weights to one without.
 */
import type { LoadedConfig } from '../config/load.js';
import { MtlzooError } from '../errors.js';
import type { Dataset } from '../kinds/dataset.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import type { MtlModel, ParameterEntry } from '../kinds/method.js';
import type { Kernel } from '../kernel/kernel.js';
import { preservingState, tripletLosses, withPenalty } from '../engine/objective.js';
import { pixelsToTensor } from '../engine/pixels.js';
import type { TrainerHook, TrainingContext } from '../engine/hooks.js';
import {
  cosineFromGram,
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
}

/** Per-task gradients of the shared parameters: `values[task][variable]`, flattened. */
export interface TaskGradients {
  readonly names: readonly string[];
  readonly values: readonly (readonly Float32Array[])[];
}

function statsFromGram(gram: Matrix): PairStats {
  const cosine = cosineFromGram(gram);
  return { cosine, meanAngle: meanOffDiagonalAngle(cosine), norm: gram.map((row, i) => Math.sqrt(row[i]!)) };
}

/**
 * Cosines and angles per variable and over all of them. The Gram matrix of the concatenation is the sum
 * of the per-variable Gram matrices, so nothing is concatenated.
 */
export function gradientStatistics(gradients: TaskGradients): GradientStatistics {
  const grams = gradients.names.map((_, v) => gramMatrix(gradients.values.map((task) => task[v]!)));
  return {
    layers: Object.fromEntries(gradients.names.map((name, v) => [name, statsFromGram(grams[v]!)])),
    all: statsFromGram(sumMatrices(grams)),
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

/** The triplets of task `task` in a batch (grouped by task, as the sampler lays them out). */
function taskSlice(batch: TripletBatch, task: number): TripletBatch {
  const start = batch.taskIds.indexOf(task);
  const end = batch.taskIds.lastIndexOf(task) + 1;
  return {
    taskIds: batch.taskIds.subarray(start, end),
    anchor: batch.anchor.subarray(start, end),
    positive: batch.positive.subarray(start, end),
    negative: batch.negative.subarray(start, end),
  };
}

/** What the probe needs from a trainer or a built experiment. */
export interface ProbeParts {
  readonly loaded: LoadedConfig;
  readonly dataset: Dataset;
  readonly model: MtlModel;
  readonly loss: TripletLossFunction;
}

export class GradientProbe {
  readonly shared: readonly ParameterEntry[];
  private readonly sampler: TripletSampler;

  constructor(private readonly parts: ProbeParts) {
    const { config } = parts.loaded;
    this.shared = parts.model.parameters().filter((p) => p.trainable && p.owner === 'shared');
    // A seed of its own: the training sampler's streams are keyed by the run seed and never touched.
    this.sampler = new TripletSampler(
      parts.dataset.splits.train,
      parts.dataset.tasks,
      (hashString(`probe/${config.seed}`) ^ config.seed) >>> 0,
      { tripletsPerTask: config.train.probe.tripletsPerTask },
    );
  }

  /** Per-task gradients of the shared trainable parameters on the probe batch of `step`. */
  async gradients(step: number): Promise<TaskGradients> {
    const { dataset, model } = this.parts;
    const batch = this.sampler.batch(step);
    const values: Float32Array[][] = [];
    for (let t = 0; t < dataset.tasks.length; t++) {
      const samples = uniqueImages(taskSlice(batch, t));
      const pixels = await dataset.splits.train.pixels(Array.from(samples.images));
      // Undo the BatchNorm moving-average updates the training-mode forward passes make.
      values.push(await preservingState(model, () => this.taskGradient(samples, pixels)));
    }
    return { names: this.shared.map((p) => p.name), values };
  }

  private async taskGradient(samples: UniqueImages, pixels: Uint8Array): Promise<Float32Array[]> {
    const { dataset, model, loss, loaded } = this.parts;
    const images = pixelsToTensor(pixels, dataset.imageShape);
    try {
      return await gradientsOf(
        () => {
          const objective = tripletLosses(
            model,
            loss,
            images,
            samples,
            loaded.config.train.mining,
            dataset.splits.train,
          );
          return withPenalty(tf.mean(objective.losses) as tf.Scalar, objective);
        },
        this.shared.map((p) => p.variable),
      );
    } finally {
      images.dispose();
    }
  }

  async measure(step: number): Promise<ProbeRecord> {
    return {
      type: 'probe',
      step,
      tasks: this.parts.dataset.tasks.map((t) => t.name),
      tripletsPerTask: this.parts.loaded.config.train.probe.tripletsPerTask,
      ...gradientStatistics(await this.gradients(step)),
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
    afterBackward(pass, context) {
      const { every } = context.loaded.config.train.probe;
      const step = pass.step + 1;
      if (every === 0 || step % every !== 0 || !pass.taskGradients) return;
      const { shared } = probeOf(context);
      if (shared.length === 0) return;
      const values = pass.taskGradients.map((grads) =>
        shared.map((p) => {
          const grad = grads[p.variable.name];
          return grad ? Float32Array.from(grad.dataSync()) : new Float32Array(p.variable.size);
        }),
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

/** Probes a run's checkpoint on demand, with the probe batch of the checkpoint's step. */
export async function probeCheckpoint(
  kernel: Kernel,
  runDir: string,
  which: 'best' | 'last',
): Promise<ProbeRecord> {
  return withRunCheckpoint(kernel, runDir, which, async (experiment, { step }) => {
    const probe = new GradientProbe(experiment);
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
