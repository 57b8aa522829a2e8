/** The `train:` section: budget, batch composition, optimisation and the hooks' schedules. */
import { z } from 'zod';
import { optimizerSchema, scheduleSchema } from '../train/optimizers.js';
import { samplerOptionsSchema } from '../train/sampler.js';
import { boundedInt, MAX_BATCH_TRIPLETS_PER_TASK } from './bounds.js';
import { pluginRefSchema } from './plugin-ref.js';

/**
 * The sampler's options with what config check can say before a run: a batch size a machine can hold,
 * and weights that give some task a share (all zero would leave the batch empty).
 */
const batchSchema = samplerOptionsSchema.superRefine((batch, context) => {
  if (batch.tripletsPerTask > MAX_BATCH_TRIPLETS_PER_TASK) {
    context.addIssue({
      code: 'custom',
      path: ['tripletsPerTask'],
      input: batch.tripletsPerTask,
      message: `expected at most ${MAX_BATCH_TRIPLETS_PER_TASK.toLocaleString('en')} triplets per task in a batch`,
    });
  }
  if (batch.weights && !batch.weights.some((w) => w > 0)) {
    context.addIssue({
      code: 'custom',
      path: ['weights'],
      input: batch.weights,
      message:
        'expected at least one weight above 0: tasks share the batch in proportion to their weights (leave weights out for equal shares)',
    });
  }
});

export const trainSchema = z.strictObject({
  /** Optimiser steps. */
  steps: z.int().positive().default(200),
  /** Triplets per task in every batch (equal shares, the authors' scheme, unless `weights` are given). */
  batch: batchSchema.prefault({}),
  /**
   * How task losses (or their gradients) combine into one update: the second MTL axis (LibMTL), orthogonal
   * to the method. A plugin of kind `weighting` (`equal`, `uncertainty`, `pcgrad`, …); its options are
   * checked by the plugin's own schema.
   */
  weighting: pluginRefSchema.prefault({ name: 'equal' }),
  optimizer: optimizerSchema,
  schedule: scheduleSchema,
  /** Online hard-negative mining within each task's share of the batch. */
  mining: z.enum(['none', 'hard', 'semi-hard']).default('none'),
  /** Random horizontal flips of training images. */
  flip: z.boolean().default(false),
  /** Clip the global gradient norm to this value. */
  clipNorm: z.number().positive().optional(),
  /** Evaluate on the validation split every N steps (0: only at the end). */
  evalEvery: z.int().nonnegative().default(0),
  /**
   * The validation metric (averaged over tasks) that picks the `best` checkpoint; higher or lower is better
   * as the metric itself says.
   */
  selectBy: z.string().min(1).default('triplet-accuracy'),
  /** Write the `last` checkpoint every N steps (0: no step schedule; see checkpointMinutes). */
  checkpointEvery: z.int().nonnegative().default(0),
  /**
   * Also write `last` once this many minutes of wall time have passed since it was last written (0: off).
   * `last` is written after every validation and at the end as well, and when a run is interrupted.
   */
  checkpointMinutes: z.number().nonnegative().default(5),
  logEvery: z.int().positive().default(10),
  /**
   * Gradient-direction probe: every N steps (0 = off), on a fixed set of this many triplets per task. The
   * probe observes and never changes training; `split` and `mining` have no schema default so that
   * configs which leave them out keep their hash (src/analysis/probe.ts applies the defaults).
   */
  probe: z
    .strictObject({
      every: z.int().nonnegative().default(0),
      tripletsPerTask: boundedInt(1, MAX_BATCH_TRIPLETS_PER_TASK, 'triplets per task').default(8),
      /** Split the fixed probe triplets come from (default `val`). */
      split: z.enum(['train', 'val']).optional(),
      /** Negative mining within each task's probe triplets (default `hard`, which keeps the loss active longest). */
      mining: z.enum(['none', 'hard', 'semi-hard']).optional(),
    })
    .prefault({}),
});

export type TrainConfig = z.output<typeof trainSchema>;
