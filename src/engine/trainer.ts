/**
 * Multi-task triplet training. Each step draws a batch with a fixed share of triplets per task, decodes
 * every image once, embeds each (image, task) pair once, computes the per-triplet loss, turns the task
 * losses into one update (equal weighting unless a hook reduces them otherwise), and applies it. Everything
 * else — the metrics log, validation and the best checkpoint, `last` checkpoints, the gradient probe,
 * progress — is a typed hook (hooks.ts). `--resume` continues from `last` to the same result, and an abort
 * signal (SIGINT, SIGTERM, SIGHUP in the CLI) stops after the current step with `last` written.
 */
import os from 'node:os';
import { inject, injectable } from '../kernel/di.js';
import type { BackendChoice } from '../backend/select.js';
import type { LoadedConfig } from '../config/load.js';
import { MtlzooError } from '../errors.js';
import type { Dataset } from '../kinds/dataset.js';
import type { Metric } from '../kinds/evaluator.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import type { MtlModel } from '../kinds/method.js';
import type { Weighting } from '../kinds/weighting.js';
import type { NamedEvaluator } from '../kernel/kernel.js';
import { TOKENS } from '../kernel/tokens.js';
import type { Logger } from '../plugin/types.js';
import { readNow } from '../backend/read-now.js';
import * as tf from '../tf.js';
import { createOptimizer, learningRateAt, type TrainingOptimizer } from '../train/optimizers.js';
import { TripletSampler, uniqueImages, type UniqueImages } from '../train/sampler.js';
import { Rng } from '../util/random.js';
import { checkpointWeightsHash, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { describeEnvironment, MTLZOO_VERSION, type Environment } from './environment.js';
import { evaluateSplit, testSamples, withoutSamples } from './evaluation.js';
import {
  HookDriver,
  type BackwardPass,
  type EvalRecord,
  type StepRecord,
  type TaskGradients,
  type TaskLosses,
  type TrainerHook,
  type TrainingContext,
} from './hooks.js';
import { checkpointHook } from './hooks/checkpointing.js';
import { metricsLogHook } from './hooks/metrics-log.js';
import { timingHook } from './hooks/timing.js';
import { validationHook } from './hooks/validation.js';
import { weightingHook } from './hooks/weighting.js';
import {
  batchForward,
  negativeRows,
  preservingState,
  tripletLosses,
  tripletLossesOf,
  withPenalty,
  type BatchObjective,
} from './objective.js';
import { pixelsToTensor } from './pixels.js';
import type { RunDir } from './run-dir.js';
import type { TrainSummary } from './summary.js';
import { tripletFactors } from './weighting.js';

export type { EvalRecord, StepRecord, TrainerHook } from './hooks.js';
export type { TrainSummary } from './summary.js';
export { overallMetric } from './hooks/validation.js';
export { WARMUP_STEPS } from './hooks/timing.js';

export interface TrainOptions {
  readonly run: RunDir;
  /** Continue the run from its last checkpoint instead of starting afresh. */
  readonly resume?: boolean;
  /** Hooks of the caller (progress, probe), run after the metrics log and before validation. */
  readonly hooks?: readonly TrainerHook[];
  /** When aborted (reason: the signal's name), training stops after the current step with `last` written. */
  readonly signal?: AbortSignal;
}

/** A run stopped by a signal, with `last` written; `exitCode` is 128 + the signal's number. */
export class InterruptedError extends MtlzooError {
  constructor(
    readonly signal: string,
    message: string,
  ) {
    super('INTERRUPTED', message, 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 2));
  }
}

interface TrainBatch {
  /** 0-based index of the update. */
  readonly step: number;
  readonly taskIds: Int32Array;
  readonly unique: UniqueImages;
  readonly pixels: Uint8Array;
}

/** A tensor's values, read back asynchronously (GPU engines have no synchronous read); the tensor is freed. */
async function readAndDispose(tensor: tf.Tensor): Promise<tf.TypedArray> {
  try {
    return await tensor.data();
  } finally {
    tensor.dispose();
  }
}

@injectable()
export class Trainer {
  private readonly optimizer: TrainingOptimizer;
  private readonly sampler: TripletSampler;

  constructor(
    @inject(TOKENS.loadedConfig) readonly loaded: LoadedConfig,
    @inject(TOKENS.backend) readonly backend: BackendChoice,
    @inject(TOKENS.dataset) readonly dataset: Dataset,
    @inject(TOKENS.model) readonly model: MtlModel,
    @inject(TOKENS.loss) readonly loss: TripletLossFunction,
    @inject(TOKENS.evaluators) readonly evaluators: readonly NamedEvaluator[],
    @inject(TOKENS.logger) readonly log: Logger,
    @inject(TOKENS.weighting) readonly weighting: Weighting,
  ) {
    const { train, seed } = loaded.config;
    this.optimizer = createOptimizer(train.optimizer);
    this.sampler = new TripletSampler(dataset.splits.train, dataset.tasks, seed, train.batch);
  }

  private get trainables(): tf.Variable[] {
    return this.model
      .parameters()
      .filter((p) => p.trainable)
      .map((p) => p.variable);
  }

  private flipsFor(step: number, images: Int32Array): boolean[] | undefined {
    if (!this.loaded.config.train.flip) return undefined;
    const rng = Rng.derive(this.loaded.config.seed, `flip/${step}`);
    return Array.from(images, () => rng.next() < 0.5);
  }

  /**
   * One optimiser update on the batch of `step` (0-based); returns the per-triplet losses and, when a hook
   * asks, each task's mean loss on the same batch after the update.
   */
  private async applyStep(
    step: number,
    batch: UniqueImages,
    taskIds: Int32Array,
    pixels: Uint8Array,
    hooks: HookDriver,
    context: TrainingContext,
  ): Promise<{ perTriplet: Float32Array; taskLossAfter?: number[] }> {
    const { train } = this.loaded.config;
    this.optimizer.setLearningRate(learningRateAt(train.optimizer.lr, train.schedule, step, train.steps));
    const images = pixelsToTensor(pixels, this.dataset.imageShape, this.flipsFor(step, batch.images));
    const batchObjective = () =>
      tripletLosses(this.model, this.loss, images, batch, train.mining, this.dataset.splits.train);
    // Per-task gradients are of the task losses alone; the method's penalty is not any task's.
    const losses = () => batchObjective().losses;
    let perTriplet: tf.Tensor1D | undefined;
    let backward: { grads: tf.NamedTensorMap; taskGradients?: TaskGradients } | undefined;
    try {
      tf.tidy(() => {
        let grads: tf.NamedTensorMap;
        let taskGradients: TaskGradients | undefined;
        if (hooks.updatesFromTaskGradients) {
          // The per-task passes give the update; the first one also moves BatchNorm's statistics, once.
          taskGradients = this.taskGradients(losses, taskIds, (values) => (perTriplet = tf.keep(values)));
          grads = this.equalGradients(taskGradients, taskIds);
        } else {
          const objective = () => {
            const forward = batchForward(this.model, images, batch);
            const lossesOf = (embeddings: tf.Tensor2D) =>
              tripletLossesOf(
                this.model,
                embeddings,
                this.loss,
                batch,
                train.mining,
                this.dataset.splits.train,
              );
            const { losses: values, negatives } = lossesOf(forward.embeddings);
            perTriplet = tf.keep(values);
            const equal = tf.sum(
              tf.mul(values, tf.tensor1d(tripletFactors(taskIds, this.dataset.tasks.length))),
            ) as tf.Scalar;
            const taskLosses = this.taskLosses(step, values, taskIds, () =>
              this.representationGram(forward.embeddings, (e) => lossesOf(e).losses, taskIds),
            );
            const combined = hooks.reduce('objective', equal, taskLosses, context);
            // The method's own penalty (embedWithPenalty) is added once, after the task losses are combined.
            const penalty = forward.penalty?.({
              anchor: batch.anchor,
              positive: batch.positive,
              negative: negativeRows(negatives),
            });
            return withPenalty(combined, { losses: values, penalty });
          };
          grads = tf.variableGrads(objective, this.trainables).grads;
          taskGradients = hooks.needsTaskGradients ? this.taskGradients(losses, taskIds) : undefined;
        }
        // Kept past the tidy: the hooks see them after the losses are read back.
        for (const t of [...Object.values(grads), ...(taskGradients ?? []).flatMap((g) => Object.values(g))])
          tf.keep(t);
        backward = taskGradients ? { grads, taskGradients } : { grads };
      });
      // Read back asynchronously (a GPU engine has no synchronous read), before hooks see the losses.
      const values = (await perTriplet!.data()) as Float32Array;
      const { grads, taskGradients } = backward!;
      const pass = this.backwardPass(step, grads, taskGradients, this.taskMeans(values, taskIds));
      await hooks.sequential('afterBackward', pass, context);
      const squaredNorm = tf.tidy(() => {
        const reduced = hooks.reduce('reduceGradients', grads, pass, context);
        // Built from per-task gradients, the update lacks the method's penalty: its gradient joins as is.
        const update =
          hooks.updatesFromTaskGradients && this.model.embedWithPenalty
            ? addGradients(reduced, this.penaltyGradients(batchObjective))
            : reduced;
        this.optimizer.applyGradients(
          train.clipNorm === undefined ? update : clipByGlobalNorm(update, train.clipNorm),
        );
        return squaredGlobalNorm(update);
      });
      // A non-finite update turns the weights into NaN while the losses may still read finite (a hinge
      // clamps NaN to 0 on some engines): stop before any hook saves such weights.
      const [updateNorm] = await readAndDispose(squaredNorm);
      if (!Number.isFinite(updateNorm)) {
        throw new MtlzooError(
          'TRAINING_DIVERGED',
          `training diverged at step ${step + 1}: the update of the weights is ${updateNorm} (weighting "${train.weighting.name}"); lower train.optimizer.lr or set train.clipNorm`,
        );
      }
      if (!hooks.needsLossesAfterUpdate) return { perTriplet: values };
      // The same forward as the update's (training mode), its BatchNorm statistics put back.
      const after = preservingState(this.model, () => tf.tidy(() => losses()));
      return {
        perTriplet: values,
        taskLossAfter: this.taskMeans((await readAndDispose(after)) as Float32Array, taskIds),
      };
    } finally {
      tf.dispose([images, ...(perTriplet ? [perTriplet] : [])]);
      if (backward) {
        const { grads, taskGradients } = backward;
        tf.dispose([...Object.values(grads), ...(taskGradients ?? []).flatMap((g) => Object.values(g))]);
      }
    }
  }

  private taskLosses(
    step: number,
    perTriplet: tf.Tensor1D,
    taskIds: Int32Array,
    representationGram: () => number[][],
  ): TaskLosses {
    const tasks = this.dataset.tasks.length;
    return {
      step,
      perTriplet,
      taskIds,
      representationGram,
      taskMeans: () => {
        const counts = new Float32Array(tasks);
        taskIds.forEach((t) => (counts[t]! += 1));
        const sums = tf.unsortedSegmentSum(perTriplet, tf.tensor1d(taskIds, 'int32'), tasks);
        return tf.div(sums, tf.tensor1d(counts.map((c) => Math.max(c, 1)))) as tf.Tensor1D;
      },
      weighted: (weights) =>
        tf.sum(tf.mul(perTriplet, tf.tensor1d(tripletFactors(taskIds, tasks, weights)))) as tf.Scalar,
    };
  }

  /**
   * Each task's gradient of its mean loss with respect to every trainable variable: one forward and backward
   * per task with triplets in the batch (none, an empty map, for the others), in training mode on the whole
   * batch (so BatchNorm normalises as in the update). Only with `first` does the first of those passes keep
   * the moving statistics it shifts (it then stands for the update's own forward and hands its per-triplet
   * losses to `first`); every other pass puts them back.
   */
  private taskGradients(
    losses: () => tf.Tensor1D,
    taskIds: Int32Array,
    first?: (values: tf.Tensor1D) => void,
  ): tf.NamedTensorMap[] {
    const trainables = this.trainables;
    const leading = taskIds[0];
    return this.dataset.tasks.map((_, task) => {
      if (!taskIds.includes(task)) return {};
      const pass = () => {
        const mask = tf.tensor1d(Array.from(taskIds, (t) => (t === task ? 1 : 0)));
        const count = Math.max(1, taskIds.filter((t) => t === task).length);
        return tf.variableGrads(() => {
          const values = losses();
          if (first && task === leading) first(values);
          return tf.div(tf.sum(tf.mul(values, mask)), count) as tf.Scalar;
        }, trainables).grads;
      };
      return first && task === leading ? pass() : preservingState(this.model, pass);
    });
  }

  /** Gram matrix of the tasks' gradients with respect to the raw embeddings (through the loss alone). */
  private representationGram(
    raw: tf.Tensor2D,
    lossesOf: (embeddings: tf.Tensor2D) => tf.Tensor1D,
    taskIds: Int32Array,
  ): number[][] {
    const tasks = this.dataset.tasks.length;
    const values = tf.tidy(() => {
      const rows = this.dataset.tasks.map((_, task) => {
        const mask = tf.tensor1d(Array.from(taskIds, (t) => (t === task ? 1 : 0)));
        const count = Math.max(1, taskIds.filter((t) => t === task).length);
        const taskLoss = (embeddings: tf.Tensor) =>
          tf.div(tf.sum(tf.mul(lossesOf(embeddings as tf.Tensor2D), mask)), count) as tf.Scalar;
        return tf.grad(taskLoss)(raw).reshape([-1]);
      });
      const matrix = tf.stack(rows);
      return readNow(
        tf.matMul(matrix, matrix, false, true),
        `weighting "${this.loaded.config.train.weighting.name}"'s representation Gram matrix`,
        'use an engine with synchronous reads (tensorflow, wasm, cpu) for it',
      );
    });
    return Array.from({ length: tasks }, (_, s) =>
      Array.from({ length: tasks }, (__, t) => values[s * tasks + t]!),
    );
  }

  /** The gradient of the method's penalty alone (one more forward and backward, its BatchNorm shift undone). */
  private penaltyGradients(batchObjective: () => BatchObjective): tf.NamedTensorMap {
    return preservingState(
      this.model,
      () =>
        tf.variableGrads(() => {
          const parts = batchObjective();
          // A batch without a penalty term still differentiates (to zeros).
          return parts.penalty ?? (tf.mul(tf.sum(parts.losses), 0) as tf.Scalar);
        }, this.trainables).grads,
    );
  }

  /** The equal-weighting gradient from per-task gradients: their mean over the tasks with triplets. */
  private equalGradients(taskGradients: TaskGradients, taskIds: Int32Array): tf.NamedTensorMap {
    const active = taskGradients.filter((_, t) => taskIds.includes(t));
    return Object.fromEntries(
      this.trainables.flatMap((v) => {
        const parts = active.flatMap((g) => (g[v.name] ? [g[v.name]!] : []));
        return parts.length > 0 ? [[v.name, tf.div(tf.addN(parts), active.length)]] : [];
      }),
    );
  }

  /** What the hooks see of a backward pass. */
  private backwardPass(
    step: number,
    grads: tf.NamedTensorMap,
    taskGradients: TaskGradients | undefined,
    taskLosses: number[],
  ): BackwardPass {
    return {
      step,
      grads,
      shared: this.model
        .parameters()
        .filter((p) => p.trainable && p.owner === 'shared')
        .map((p) => p.variable.name),
      taskLosses,
      ...(taskGradients ? { taskGradients } : {}),
    };
  }

  private taskMeans(perTriplet: Float32Array, taskIds: Int32Array): number[] {
    const sums = new Float64Array(this.dataset.tasks.length);
    const counts = new Float64Array(this.dataset.tasks.length);
    perTriplet.forEach((v, i) => {
      sums[taskIds[i]!]! += v;
      counts[taskIds[i]!]! += 1;
    });
    return Array.from(sums, (s, t) => (counts[t]! > 0 ? s / counts[t]! : Number.NaN));
  }

  /** Metrics of a split, with their per-query samples (logs and summaries keep them without). */
  async evaluate(split: 'val' | 'test'): Promise<Metric[]> {
    return evaluateSplit(this.model, this.dataset, split, this.evaluators);
  }

  private checkpointMetadata(step: number, metrics?: readonly Metric[]) {
    return {
      step,
      configHash: this.loaded.hash,
      method: this.loaded.config.method.name,
      backbone: this.loaded.config.backbone.name,
      tasks: this.dataset.tasks.map((t) => t.name),
      ...(metrics
        ? {
            metrics: Object.fromEntries(
              metrics.filter((m) => m.task === undefined).map((m) => [m.name, m.value]),
            ),
          }
        : {}),
    };
  }

  /** The checks every load of this run's checkpoints makes: same config, same tasks. */
  private expectation(run: RunDir) {
    return {
      configHash: this.loaded.hash,
      configFile: run.path('config'),
      tasks: this.dataset.tasks.map((t) => t.name),
    };
  }

  /** Restores `last` (weights, optimiser, hook states); returns the step to continue from. */
  private async restore(run: RunDir, hooks: HookDriver): Promise<number> {
    if (!(await run.hasCheckpoint('last'))) {
      this.log.warn(`${run.dir}: no checkpoint was written before the run stopped; training it from step 0`);
      await run.truncateMetricsAfter(0);
      return 0;
    }
    const variables = new Map(this.model.parameters().map((p) => [p.name, p.variable]));
    const { step } = await loadCheckpoint(run.path('last'), this.model.parameters(), {
      expect: this.expectation(run),
      restoreTraining: (state) => {
        if (state.optimizerType !== this.optimizer.type) {
          throw new Error(
            `holds ${state.optimizerType} state, the run's optimizer is ${this.optimizer.type}`,
          );
        }
        this.optimizer.restore(state.optimizer, variables);
        hooks.restore(state.hooks);
      },
    });
    await run.truncateMetricsAfter(step);
    this.log.info(`resuming ${run.dir} at step ${step}/${this.loaded.config.train.steps}`);
    return step;
  }

  async train(options: TrainOptions): Promise<TrainSummary> {
    const { run, signal } = options;
    const { steps } = this.loaded.config.train;
    const timing = timingHook();
    const { seed, train } = this.loaded.config;
    const hooks = new HookDriver([
      timing,
      metricsLogHook(),
      weightingHook({
        name: train.weighting.name,
        strategy: this.weighting,
        tasks: this.sampler.counts.flatMap((count, t) => (count > 0 ? [t] : [])),
        seed,
      }),
      ...(options.hooks ?? []),
      validationHook(),
      checkpointHook(),
    ]);
    const start = options.resume ? await this.restore(run, hooks) : 0;
    const context = this.context(run, hooks, start);
    const environment = describeEnvironment(this.backend);
    await run.writeJson('environment', environment);
    await hooks.sequential('start', context);
    for await (const batch of this.batches(start)) {
      await hooks.sequential('beforeStep', batch.step, context);
      const record = await this.step(batch, hooks, context);
      await hooks.sequential('afterStep', record, context);
      // A step may never wait on I/O; this lets a pending signal reach its handler before the check.
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) await this.stop(signal, record.step, context);
    }
    if (signal?.aborted) await this.stop(signal, steps, context);
    return this.finish(context, hooks, environment, timing.msPerStep());
  }

  /** The batches of steps `start`…, each decoded while the previous one trains. */
  private async *batches(start: number) {
    const { steps } = this.loaded.config.train;
    const prepare = (step: number) => {
      const triplets = this.sampler.batch(step);
      const unique = uniqueImages(triplets);
      const pixels = this.dataset.splits.train.pixels(Array.from(unique.images));
      // Awaited when its step comes; a run that stops before must not turn its failure into a crash.
      pixels.catch(() => undefined);
      return { step, taskIds: triplets.taskIds, unique, pixels };
    };
    let next = start < steps ? prepare(start) : undefined;
    while (next) {
      const current = next;
      const pixels = await current.pixels;
      next = current.step + 1 < steps ? prepare(current.step + 1) : undefined;
      yield { ...current, pixels };
    }
  }

  /** One update and its record. */
  private async step(batch: TrainBatch, hooks: HookDriver, context: TrainingContext): Promise<StepRecord> {
    const { train } = this.loaded.config;
    const started = performance.now();
    const { perTriplet, taskLossAfter } = await this.applyStep(
      batch.step,
      batch.unique,
      batch.taskIds,
      batch.pixels,
      hooks,
      context,
    );
    const ms = performance.now() - started;
    const taskLoss = this.taskMeans(perTriplet, batch.taskIds);
    const record: StepRecord = {
      type: 'train',
      step: batch.step + 1,
      // The mean over the tasks with triplets in the batch (`batch.weights` may give a task none: NaN).
      loss: mean(taskLoss.filter((l) => !Number.isNaN(l))),
      taskLoss,
      lr: learningRateAt(train.optimizer.lr, train.schedule, batch.step, train.steps),
      ms,
      ...(taskLossAfter ? { taskLossAfter } : {}),
    };
    if (!Number.isFinite(record.loss)) {
      throw new MtlzooError(
        'TRAINING_DIVERGED',
        `training diverged at step ${record.step}: loss is ${record.loss}; lower train.optimizer.lr or set train.clipNorm`,
      );
    }
    return record;
  }

  /** What hooks see of this run, and the evaluations and checkpoints they may ask for. */
  private context(run: RunDir, hooks: HookDriver, startStep: number): TrainingContext {
    const generatedBy = `mtlzoo ${MTLZOO_VERSION}`;
    let lastSavedStep = startStep;
    const context: TrainingContext = {
      loaded: this.loaded,
      dataset: this.dataset,
      model: this.model,
      loss: this.loss,
      log: this.log,
      run,
      startStep,
      get lastSavedStep() {
        return lastSavedStep;
      },
      evaluate: async (split, step) => {
        const measured = await this.evaluate(split);
        // The per-query values go to test-samples.json (for bench intervals), never into logs and summaries.
        if (split === 'test') await run.writeJson('samples', testSamples(measured, step));
        const record: EvalRecord = { type: 'eval', step, split, metrics: withoutSamples(measured) };
        await hooks.sequential('evaluated', record, context);
        return record;
      },
      saveCheckpoint: async (which, step, metrics) => {
        const dir = run.path(which);
        const variables = this.model.parameters();
        if (which === 'last') {
          // The log's records up to this step reach the disk before the checkpoint that vouches for them.
          await run.syncMetrics();
          await saveCheckpoint(dir, variables, this.checkpointMetadata(step), generatedBy, {
            optimizerType: this.optimizer.type,
            optimizer: this.optimizer.state(new Map(variables.map((p) => [p.variable.name, p.name]))),
            hooks: hooks.states(),
          });
          lastSavedStep = step;
        } else {
          await saveCheckpoint(dir, variables, this.checkpointMetadata(step, metrics), generatedBy);
        }
        await hooks.sequential('checkpointed', { which, dir, step }, context);
      },
    };
    return context;
  }

  /** Tests the checkpoint the run's result comes from (best when it validates, else last); writes the summary. */
  private async finish(
    context: TrainingContext,
    hooks: HookDriver,
    environment: Environment,
    msPerStep: number,
  ): Promise<TrainSummary> {
    const { run } = context;
    const { train } = this.loaded.config;
    const tested = run.path(train.evalEvery > 0 ? 'best' : 'last');
    const { step: testedStep } = await loadCheckpoint(tested, this.model.parameters(), {
      expect: this.expectation(run),
    });
    const test = await context.evaluate('test', testedStep);
    const summary: TrainSummary = {
      runDir: run.dir,
      configHash: this.loaded.hash,
      method: this.loaded.config.method.name,
      backbone: this.loaded.config.backbone.name,
      dataset: this.dataset.name,
      tasks: this.dataset.tasks.map((t) => t.name),
      steps: train.steps,
      environment,
      params: this.model.report(),
      timing: { msPerStep, tripletsPerSecond: (this.sampler.batchSize * 1000) / msPerStep },
      memory: { peakRssMB: process.resourceUsage().maxRSS / 1024, tensors: tf.memory().numTensors },
      testedStep,
      test: test.metrics,
      weightsSha256: await checkpointWeightsHash(tested),
    };
    await run.writeJson('summary', summary);
    await hooks.sequential('end', summary, context);
    return summary;
  }

  /** Writes `last` unless it is current, and stops with the signal's exit code and how to resume. */
  private async stop(signal: AbortSignal, step: number, context: TrainingContext): Promise<never> {
    if (context.lastSavedStep !== step) await context.saveCheckpoint('last', step);
    const name = typeof signal.reason === 'string' ? signal.reason : 'SIGINT';
    const { run } = context;
    throw new InterruptedError(
      name,
      `interrupted by ${name} after step ${step}/${this.loaded.config.train.steps}; saved ${run.path('last')}; resume with: mtlzoo train --resume ${run.dir}`,
    );
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** `a + b` variable by variable (a variable in one map only keeps its gradient). */
function addGradients(a: tf.NamedTensorMap, b: tf.NamedTensorMap): tf.NamedTensorMap {
  const out = { ...a };
  for (const [name, g] of Object.entries(b)) out[name] = out[name] ? tf.add(out[name], g) : g;
  return out;
}

/** Σ of every gradient's squared elements: the squared global norm, a scalar. */
function squaredGlobalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))) as tf.Scalar);
}

/** Scales all gradients by min(1, maxNorm / global norm), as tf.clip_by_global_norm. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    const norm = tf.sqrt(squaredGlobalNorm(grads));
    const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    return Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, scale)]));
  });
}
