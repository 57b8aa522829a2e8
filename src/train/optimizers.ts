/**
 * Optimisers and learning-rate schedules from config objects. The schemas are strict with defaults so the
 * config loader can embed them as `train.optimizer` and `train.schedule`.
 */
import { z } from 'zod';
import * as tf from '../tf.js';

const learningRate = z.number().positive();

export const optimizerSchema = z
  .discriminatedUnion('type', [
    // The authors' choice (FaceNet's train_tripletloss defaults: Adagrad, learning rate 0.1).
    z.strictObject({
      type: z.literal('adagrad'),
      lr: learningRate.default(0.1),
      initialAccumulatorValue: z.number().nonnegative().default(0.1),
    }),
    z.strictObject({
      type: z.literal('adam'),
      lr: learningRate.default(0.001),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      epsilon: z.number().positive().default(1e-8),
    }),
    z.strictObject({
      type: z.literal('sgd'),
      lr: learningRate.default(0.01),
      momentum: z.number().min(0).lt(1).default(0.9),
      nesterov: z.boolean().default(false),
    }),
  ])
  // prefault, not default: an omitted optimizer is parsed as `{ type: 'adagrad' }`, filling its defaults.
  .prefault({ type: 'adagrad' });
export type OptimizerConfig = z.output<typeof optimizerSchema>;

const warmupSteps = z.number().int().nonnegative().default(0);

export const scheduleSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('constant'), warmupSteps }),
    z.strictObject({
      type: z.literal('step'),
      every: z.number().int().positive(),
      gamma: z.number().positive().default(0.1),
      warmupSteps,
    }),
    z.strictObject({
      type: z.literal('cosine'),
      /** The factor reached at the last step, as a fraction of the base rate. */
      minFactor: z.number().min(0).max(1).default(0),
      warmupSteps,
    }),
  ])
  .prefault({ type: 'constant' });
export type ScheduleConfig = z.output<typeof scheduleSchema>;

/**
 * Learning rate at `step` (0-based count of updates already applied) of a run of `totalSteps` updates:
 * base · warm-up(step) · decay(step).
 * - warm-up: (step + 1) / warmupSteps for step < warmupSteps, so the last warm-up step reaches the base rate;
 *   1 afterwards.
 * - constant: 1. step: gamma^⌊step / every⌋.
 * - cosine: minFactor + (1 − minFactor) · (1 + cos(π·t)) / 2 with t = (step − warmupSteps) /
 *   (totalSteps − 1 − warmupSteps) clamped to [0, 1]: 1 right after warm-up, minFactor at the last step.
 */
export function learningRateAt(
  base: number,
  schedule: ScheduleConfig,
  step: number,
  totalSteps: number,
): number {
  const warm = step < schedule.warmupSteps ? (step + 1) / schedule.warmupSteps : 1;
  switch (schedule.type) {
    case 'constant':
      return base * warm;
    case 'step':
      return base * warm * schedule.gamma ** Math.floor(step / schedule.every);
    case 'cosine': {
      const span = totalSteps - 1 - schedule.warmupSteps;
      const t = span > 0 ? Math.min(1, Math.max(0, (step - schedule.warmupSteps) / span)) : 1;
      return (
        base * warm * (schedule.minFactor + ((1 - schedule.minFactor) * (1 + Math.cos(Math.PI * t))) / 2)
      );
    }
  }
}

/** A tfjs optimiser whose learning rate a schedule can change between steps. */
export type ScheduledOptimizer = tf.Optimizer & { setLearningRate(lr: number): void };

// tfjs reads `learningRate` on every update but only SGD exposes a setter; these subclasses add one.
class ScheduledAdagrad extends tf.AdagradOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

/** Builds the configured optimiser at its base learning rate. */
export function createOptimizer(config: OptimizerConfig): ScheduledOptimizer {
  switch (config.type) {
    case 'adagrad':
      return new ScheduledAdagrad(config.lr, config.initialAccumulatorValue);
    case 'adam':
      return new ScheduledAdam(config.lr, config.beta1, config.beta2, config.epsilon);
    case 'sgd':
      // MomentumOptimizer extends SGDOptimizer, whose setLearningRate also refreshes its cached scalar.
      return new tf.MomentumOptimizer(config.lr, config.momentum, config.nesterov);
  }
}
