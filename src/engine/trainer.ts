/**
 * Multi-task triplet training. Each step draws a batch with a fixed share of triplets per task, decodes
 * every image once, embeds each (image, task) pair once, computes the per-triplet loss, combines task
 * losses by the weighting strategy, and applies one optimiser update. Validation, checkpoints and the
 * metrics log hang off the step loop; `--resume` continues from the last checkpoint to the same result.
 */
import { inject, injectable } from '../kernel/di.js';
import type { BackendChoice } from '../backend/select.js';
import type { LoadedConfig } from '../config/load.js';
import { MtlzooError } from '../errors.js';
import type { Dataset } from '../kinds/dataset.js';
import type { Metric } from '../kinds/evaluator.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import type { MtlModel, ParameterReport } from '../kinds/method.js';
import type { NamedEvaluator } from '../kernel/kernel.js';
import { TOKENS } from '../kernel/tokens.js';
import type { Logger } from '../plugin/types.js';
import * as tf from '../tf.js';
import { createOptimizer, learningRateAt, type ScheduledOptimizer } from '../train/optimizers.js';
import { TripletSampler, uniqueImages, type UniqueImages } from '../train/sampler.js';
import { Rng } from '../util/random.js';
import {
  assertSameConfig,
  checkpointWeightsHash,
  loadCheckpoint,
  readCheckpointMetadata,
  saveCheckpoint,
} from './checkpoint.js';
import { describeEnvironment, MTLZOO_VERSION, type Environment } from './environment.js';
import { evaluateSplit } from './evaluation.js';
import { tripletLosses } from './objective.js';
import { pixelsToTensor } from './pixels.js';
import type { RunDir } from './run-dir.js';
import { taskLossWeights } from './weighting.js';

/** Steps excluded from timing: the first ones compile kernels and warm caches. */
export const WARMUP_STEPS = 2;

export interface StepRecord {
  readonly type: 'train';
  /** Steps completed after this one (1-based). */
  readonly step: number;
  readonly loss: number;
  /** Mean triplet loss per task, in dataset task order. */
  readonly taskLoss: readonly number[];
  readonly lr: number;
  readonly ms: number;
}

export interface EvalRecord {
  readonly type: 'eval';
  readonly step: number;
  readonly split: 'val' | 'test';
  readonly metrics: readonly Metric[];
}

/** Observers of the training loop (logging, probes); each is awaited in order. */
export interface TrainerHooks {
  stepEnd?(record: StepRecord, trainer: Trainer): void | Promise<void>;
  evaluated?(record: EvalRecord, trainer: Trainer): void | Promise<void>;
}

export interface TrainSummary {
  readonly runDir: string;
  readonly configHash: string;
  readonly method: string;
  readonly backbone: string;
  readonly dataset: string;
  readonly tasks: readonly string[];
  readonly steps: number;
  readonly environment: Environment;
  readonly params: ParameterReport;
  /** Step time with the first WARMUP_STEPS of the process left out, and the triplets it trains per second. */
  readonly timing: { readonly msPerStep: number; readonly tripletsPerSecond: number };
  /** Peak resident memory of the process so far, and tensors alive at the end (tfjs's count). */
  readonly memory: { readonly peakRssMB: number; readonly tensors: number };
  /** Step of the checkpoint the test metrics come from. */
  readonly testedStep: number;
  readonly test: readonly Metric[];
  readonly weightsSha256: string;
}

export interface TrainOptions {
  readonly run: RunDir;
  /** Continue the run from its last checkpoint instead of starting afresh. */
  readonly resume?: boolean;
  readonly hooks?: readonly TrainerHooks[];
}

/** The metric over all tasks named `name`, or undefined. */
export function overallMetric(metrics: readonly Metric[], name: string): Metric | undefined {
  return metrics.find((m) => m.name === name && m.task === undefined);
}

@injectable()
export class Trainer {
  private readonly optimizer: ScheduledOptimizer;
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

  /** Everything a checkpoint holds: trainable and state variables. */
  private get checkpointVariables() {
    return this.model.parameters();
  }

  private flipsFor(step: number, images: Int32Array): boolean[] | undefined {
    if (!this.loaded.config.train.flip) return undefined;
    const rng = Rng.derive(this.loaded.config.seed, `flip/${step}`);
    return Array.from(images, () => rng.next() < 0.5);
  }

  /** One optimiser update on the batch of `step` (0-based); returns the per-triplet losses. */
  private async applyStep(step: number, batch: UniqueImages, pixels: Uint8Array): Promise<Float32Array> {
    const { train } = this.loaded.config;
    this.optimizer.setLearningRate(learningRateAt(train.optimizer.lr, train.schedule, step, train.steps));
    let perTriplet: tf.Tensor1D | undefined;
    tf.tidy(() => {
      const images = pixelsToTensor(pixels, this.dataset.imageShape, this.flipsFor(step, batch.images));
      const objective = () => {
        const losses = tripletLosses(
          this.model,
          this.loss,
          images,
          batch,
          train.mining,
          this.dataset.splits.train,
        );
        perTriplet = tf.keep(losses);
        return tf.sum(tf.mul(losses, tf.tensor1d(this.lossWeights))) as tf.Scalar;
      };
      const { grads } = tf.variableGrads(objective, this.trainables);
      const clipped = train.clipNorm === undefined ? grads : clipByGlobalNorm(grads, train.clipNorm);
      this.optimizer.applyGradients(clipped);
    });
    // Read back asynchronously: a GPU engine (webgpu) has no synchronous read.
    try {
      return (await perTriplet!.data()) as Float32Array;
    } finally {
      perTriplet!.dispose();
    }
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

  async train(options: TrainOptions): Promise<TrainSummary> {
    const { run } = options;
    const { train } = this.loaded.config;
    const hooks = options.hooks ?? [];
    const environment = describeEnvironment(this.backend);
    const generatedBy = `mtlzoo ${MTLZOO_VERSION}`;
    const selectBy = train.selectBy;
    let start = 0;
    let best = Number.NaN;
    let bestHigher = true;
    if (options.resume) {
      const metadata = await loadCheckpoint(run.path('last'), this.checkpointVariables, this.optimizer);
      assertSameConfig(run.path('last'), metadata, this.loaded.hash, run.path('config'));
      start = metadata.step;
      // The best validation score so far, unless it was reached after the step training resumes from.
      if (await run.hasCheckpoint('best')) {
        const bestSoFar = await readCheckpointMetadata(run.path('best'));
        if (bestSoFar.step <= start) best = bestSoFar.metrics?.[selectBy] ?? Number.NaN;
      }
      await run.truncateMetricsAfter(start);
      this.log.info(`resuming ${run.dir} at step ${start}/${train.steps}`);
    }
    await run.writeJson('environment', environment);

    let timedMs = 0;
    let timedSteps = 0;
    const prepare = (step: number) => {
      const triplets = this.sampler.batch(step);
      const unique = uniqueImages(triplets);
      return {
        taskIds: triplets.taskIds,
        unique,
        pixels: this.dataset.splits.train.pixels(Array.from(unique.images)),
      };
    };
    let next = start < train.steps ? prepare(start) : undefined;

    for (let step = start; step < train.steps; step++) {
      const current = next!;
      const pixels = await current.pixels;
      // Decode the next batch while this one trains.
      next = step + 1 < train.steps ? prepare(step + 1) : undefined;
      const started = performance.now();
      const perTriplet = await this.applyStep(step, current.unique, pixels);
      const ms = performance.now() - started;
      if (step - start >= WARMUP_STEPS) {
        timedMs += ms;
        timedSteps += 1;
      }
      const taskLoss = this.taskMeans(perTriplet, current.taskIds);
      const record: StepRecord = {
        type: 'train',
        step: step + 1,
        loss: taskLoss.reduce((a, b) => a + b, 0) / taskLoss.length,
        taskLoss,
        lr: learningRateAt(train.optimizer.lr, train.schedule, step, train.steps),
        ms,
      };
      if (!Number.isFinite(record.loss)) {
        throw new MtlzooError(
          'TRAINING_DIVERGED',
          `training diverged at step ${record.step}: loss is ${record.loss}; lower train.optimizer.lr or set train.clipNorm`,
        );
      }
      if (record.step % train.logEvery === 0 || record.step === train.steps) await run.appendMetrics(record);
      for (const hook of hooks) await hook.stepEnd?.(record, this);

      const done = record.step === train.steps;
      if (train.evalEvery > 0 && (record.step % train.evalEvery === 0 || done)) {
        const metrics = await this.evaluate('val');
        const evalRecord: EvalRecord = { type: 'eval', step: record.step, split: 'val', metrics };
        await run.appendMetrics(evalRecord);
        for (const hook of hooks) await hook.evaluated?.(evalRecord, this);
        const selected = overallMetric(metrics, selectBy);
        if (!selected) {
          throw new MtlzooError(
            'USAGE',
            `train.selectBy: no validation metric "${selectBy}" over all tasks; evaluators gave ${[...new Set(metrics.map((m) => m.name))].join(', ')}`,
            2,
          );
        }
        bestHigher = selected.higherIsBetter;
        if (Number.isNaN(best) || (bestHigher ? selected.value > best : selected.value < best)) {
          best = selected.value;
          await saveCheckpoint(
            run.path('best'),
            this.checkpointVariables,
            undefined,
            this.checkpointMetadata(record.step, metrics),
            generatedBy,
          );
        }
      }
      if (done || (train.checkpointEvery > 0 && record.step % train.checkpointEvery === 0)) {
        await saveCheckpoint(
          run.path('last'),
          this.checkpointVariables,
          this.optimizer,
          this.checkpointMetadata(record.step),
          generatedBy,
        );
      }
    }

    // Test the best validation checkpoint when validation ran, else the final weights.
    const tested = Number.isNaN(best) ? run.path('last') : run.path('best');
    const { step: testedStep } = await loadCheckpoint(tested, this.checkpointVariables);
    const test = await this.evaluate('test');
    const testRecord: EvalRecord = { type: 'eval', step: testedStep, split: 'test', metrics: test };
    await run.appendMetrics(testRecord);
    for (const hook of hooks) await hook.evaluated?.(testRecord, this);

    const msPerStep = timedSteps > 0 ? timedMs / timedSteps : Number.NaN;
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
      test,
      weightsSha256: await checkpointWeightsHash(tested),
    };
    await run.writeJson('summary', summary);
    return summary;
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
