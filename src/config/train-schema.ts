/** The `train:` section: budget, batch composition, optimisation and the hooks' schedules. */
import { z } from 'zod';

export const trainSchema = z.strictObject({
  /** Optimiser steps. */
  steps: z.int().positive().default(200),
  /** Triplets of each task in every batch (the authors' equal-share scheme). */
  tripletsPerTask: z.int().positive().default(8),
  /**
   * How task losses combine into one objective: the second MTL axis (LibMTL), orthogonal to the method.
   * Only equal weighting exists today; `weights` gives fixed per-task factors.
   */
  weighting: z
    .strictObject({
      name: z.literal('equal'),
      weights: z.array(z.number().nonnegative()).optional(),
    })
    .default({ name: 'equal' }),
  /** Online hard-negative mining within each task's batch. */
  mining: z.enum(['none', 'hard', 'semi-hard']).default('none'),
  /** Random horizontal flips of training images. */
  flip: z.boolean().default(false),
  /** Clip the global gradient norm to this value. */
  clipNorm: z.number().positive().optional(),
  evalEvery: z.int().nonnegative().default(0),
  checkpointEvery: z.int().nonnegative().default(0),
  logEvery: z.int().positive().default(10),
  /** Gradient-direction probe: every N steps (0 = off) with this many triplets per task. */
  probe: z
    .strictObject({ every: z.int().nonnegative().default(0), tripletsPerTask: z.int().positive().default(8) })
    .default({ every: 0, tripletsPerTask: 8 }),
});

export type TrainConfig = z.output<typeof trainSchema>;
