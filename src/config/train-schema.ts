/** The `train:` section: budget, batch composition, optimisation and the hooks' schedules. */
import { z } from 'zod';
import { optimizerSchema, scheduleSchema } from '../train/optimizers.js';
import { samplerOptionsSchema } from '../train/sampler.js';

export const trainSchema = z.strictObject({
  /** Optimiser steps. */
  steps: z.int().positive().default(200),
  /** Triplets per task in every batch (equal shares, the authors' scheme, unless `weights` are given). */
  batch: samplerOptionsSchema.prefault({}),
  /**
   * How task losses combine into one objective: the second MTL axis (LibMTL), orthogonal to the method.
   * Equal weighting is the one strategy today; gradient methods (PCGrad, GradNorm) slot in here.
   */
  weighting: z.strictObject({ name: z.literal('equal') }).prefault({ name: 'equal' }),
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
  /** Gradient-direction probe: every N steps (0 = off) with this many triplets per task. */
  probe: z
    .strictObject({ every: z.int().nonnegative().default(0), tripletsPerTask: z.int().positive().default(8) })
    .prefault({}),
});

export type TrainConfig = z.output<typeof trainSchema>;
