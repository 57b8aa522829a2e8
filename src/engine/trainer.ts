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
import type { NamedEvaluator } from '../kernel/kernel.js';
import { TOKENS } from '../kernel/tokens.js';
import type { Logger } from '../plugin/types.js';
import * as tf from '../tf.js';
import { createOptimizer, learningRateAt, type TrainingOptimizer } from '../train/optimizers.js';
import { TripletSampler, uniqueImages, type UniqueImages } from '../train/sampler.js';
import { Rng } from '../util/random.js';
import { checkpointWeightsHash, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { describeEnvironment, MTLZOO_VERSION, type Environment } from './environment.js';
import { evaluateSplit } from './evaluation.js';
import {
  HookDriver,
  type BackwardPass,
  type EvalRecord,
  type StepRecord,
  type TaskLosses,
  type TrainerHook,
  type TrainingContext,
} from './hooks.js';
import { checkpointHook } from './hooks/checkpointing.js';
import { metricsLogHook } from './hooks/metrics-log.js';
import { timingHook } from './hooks/timing.js';
import { validationHook } from './hooks/validation.js';
import { preservingState, tripletLosses } from './objective.js';
import { pixelsToTensor } from './pixels.js';
import type { RunDir } from './run-dir.js';
import type { TrainSummary } from './summary.js';
import { taskLossWeights } from './weighting.js';

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

@injectable()
export class Trainer {
  private readonly optimizer: TrainingOptimizer;
  private readonly sampler: TripletSampler;
  private readonly lossWeights: Float32Array;

  constructor(
    @inject(TOKENS.loadedConfig) readonly loaded: LoadedConfig,
    @inject(TOKENS.backend) readonly backend: BackendChoice,
    @inject(TOKENS.dataset) readonly dataset: Dataset,
    @inject(TOKENS.model) readonly model: MtlModel,
    @inject(TOKENS.loss) readonly loss: TripletLossFunction,
    @inject(TOKENS.evaluators) readonly evaluators: readonly NamedEvaluator[],
    @inject(TOKENS.logger) readonly log: Logger,
  ) {
    const { train, seed } = loaded.config;
    this.optimizer = createOptimizer(train.optimizer);
    this.sampler = new TripletSampler(dataset.splits.train, dataset.tasks, seed, train.batch);
    this.lossWeights = taskLossWeights(this.sampler.counts);
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

  /** One optimiser update on the batch of `step` (0-based); returns the per-triplet losses. */
  private async applyStep(
    step: number,
    batch: UniqueImages,
    taskIds: Int32Array,
    pixels: Uint8Array,
    hooks: HookDriver,
    context: TrainingContext,
  ): Promise<Float32Array> {
    const { train } = this.loaded.config;
    this.optimizer.setLearningRate(learningRateAt(train.optimizer.lr, train.schedule, step, train.steps));
    let perTriplet: tf.Tensor1D | undefined;
    tf.tidy(() => {
      const images = pixelsToTensor(pixels, this.dataset.imageShape, this.flipsFor(step, batch.images));
      const losses = () =>
        tripletLosses(this.model, this.loss, images, batch, train.mining, this.dataset.splits.train);
      const objective = () => {
        const values = losses();
        perTriplet = tf.keep(values);
        // Equal weighting: the mean over tasks of each task's mean triplet loss.
        const equal = tf.sum(tf.mul(values, tf.tensor1d(this.lossWeights))) as tf.Scalar;
        return hooks.reduce('objective', equal, this.taskLosses(step, values, taskIds), context);
      };
      const { grads } = tf.variableGrads(objective, this.trainables);
      const update =
        hooks.has('afterBackward') || hooks.has('reduceGradients')
          ? this.reduceUpdate({ step, grads, taskIds, losses, perTriplet: perTriplet!, hooks, context })
          : grads;
      this.optimizer.applyGradients(
        train.clipNorm === undefined ? update : clipByGlobalNorm(update, train.clipNorm),
      );
    });
    // Read back asynchronously: a GPU engine (webgpu) has no synchronous read.
    try {
      return (await perTriplet!.data()) as Float32Array;
    } finally {
      perTriplet!.dispose();
    }
  }

  private taskLosses(step: number, perTriplet: tf.Tensor1D, taskIds: Int32Array): TaskLosses {
    const tasks = this.dataset.tasks.length;
    return {
      step,
      perTriplet,
      taskIds,
      taskMeans: () => {
        const counts = new Float32Array(tasks);
        taskIds.forEach((t) => (counts[t]! += 1));
        const sums = tf.unsortedSegmentSum(perTriplet, tf.tensor1d(taskIds, 'int32'), tasks);
        return tf.div(sums, tf.tensor1d(counts.map((c) => Math.max(c, 1)))) as tf.Tensor1D;
      },
    };
  }

  /** Hands the backward pass to the hooks, and lets reducing hooks replace the shared parameters' update. */
  private reduceUpdate(input: {
    step: number;
    grads: tf.NamedTensorMap;
    taskIds: Int32Array;
    losses: () => tf.Tensor1D;
    perTriplet: tf.Tensor1D;
    hooks: HookDriver;
    context: TrainingContext;
  }): tf.NamedTensorMap {
    const { step, grads, taskIds, hooks, context } = input;
    const shared = this.model.parameters().filter((p) => p.trainable && p.owner === 'shared');
    const pass: BackwardPass = {
      step,
      grads,
      shared: shared.map((p) => p.variable.name),
      taskLosses: this.taskMeans(input.perTriplet.dataSync() as Float32Array, taskIds),
      taskGradients: hooks.needsTaskGradients
        ? this.dataset.tasks.map((_, task) =>
            // One more forward and backward per task, in training mode on the whole batch (so BatchNorm
            // normalises as in the update); the moving statistics they would shift are put back.
            preservingState(this.model, () => {
              const mask = tf.tensor1d(Array.from(taskIds, (t) => (t === task ? 1 : 0)));
              const count = Math.max(1, taskIds.filter((t) => t === task).length);
              return tf.variableGrads(
                () => tf.div(tf.sum(tf.mul(input.losses(), mask)), count) as tf.Scalar,
                shared.map((p) => p.variable),
              ).grads;
            }),
          )
        : undefined,
    };
    hooks.sync('afterBackward', pass, context);
    if (!hooks.has('reduceGradients')) return grads;
    const sharedGrads = Object.fromEntries(
      pass.shared.flatMap((name) => (grads[name] ? [[name, grads[name]]] : [])),
    );
    return { ...grads, ...hooks.reduce('reduceGradients', sharedGrads, pass, context) };
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
    const hooks = new HookDriver([
      timing,
      metricsLogHook(),
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
    const perTriplet = await this.applyStep(
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
      loss: taskLoss.reduce((a, b) => a + b, 0) / taskLoss.length,
      taskLoss,
      lr: learningRateAt(train.optimizer.lr, train.schedule, batch.step, train.steps),
      ms,
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
        const record: EvalRecord = { type: 'eval', step, split, metrics: await this.evaluate(split) };
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

/** Scales all gradients by min(1, maxNorm / global norm), as tf.clip_by_global_norm. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    const tensors = Object.values(grads);
    const norm = tf.sqrt(tf.addN(tensors.map((g) => tf.sum(tf.square(g)))));
    const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    return Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, scale)]));
  });
}
