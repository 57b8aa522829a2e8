/**
 * Kind `weighting`: how the per-task losses of a step — and, for gradient-based strategies, each task's
 * gradient of the shared parameters — become one update. This is the second MTL axis (LibMTL's), orthogonal
 * to the method, which decides how parameters are shared.
 *
 * Scale: a strategy speaks LibMTL's scale, where the objective is a sum over tasks (equal weighting gives
 * every task weight 1). The engine divides every update by the number of tasks, so equal weighting is the
 * mean over tasks of each task's mean triplet loss, as mtlzoo trains, and every strategy keeps LibMTL's
 * scale relative to equal weighting.
 *
 * Tasks: a strategy sees the tasks that have a share of the batch (all of them unless `train.batch.weights`
 * gives some task 0), in dataset order; `taskCount` is their number.
 */
import type * as tf from '../tf.js';
import type { Rng } from '../util/random.js';

/** JSON values a strategy keeps across steps (numbers round-trip exactly). */
export type StrategyJson =
  null | boolean | number | string | StrategyJson[] | { [key: string]: StrategyJson };

/** What a strategy carries from one step to the next; saved in every `last` checkpoint, restored on resume. */
export interface StrategyState {
  readonly values?: StrategyJson;
  /** Named tensors (copied when saved; given back only during `restore`). */
  readonly tensors?: readonly { readonly name: string; readonly tensor: tf.Tensor }[];
}

/** What a weighting plugin is given besides its options. */
export interface WeightingCreateContext {
  /** Tasks with a share of the batch (the strategy's tasks). */
  readonly taskCount: number;
  /** The run's seed. */
  readonly seed: number;
}

/** One step as a strategy sees it. */
export interface WeightingStep {
  /** 0-based index of the update. */
  readonly step: number;
  /** Each task's mean loss on this step's batch, read back on first use (float64 host values). */
  readonly losses: readonly number[];
  /** The training learning rate at this step (strategies with learned weights may follow it). */
  readonly lr: number;
  /** Seeded draws for this step: the same on every backend and after a resume. */
  readonly random: Rng;
  /**
   * Loss-based strategies only: the Gram matrix (float64) of the tasks' gradients with respect to the
   * batch's embeddings (the method's output, before normalisation) — MGDA-UB's shared representation.
   * Costs one backward pass through the loss alone per task, computed on first use.
   */
  representationGram?(): number[][];
}

/** Each task's gradient of the shared trainable parameters, one flat row per task. */
export interface TaskGradientMatrix {
  /** `[tasks, P]`: row t is task t's gradient, the shared variables' gradients flattened in `segments` order. */
  readonly matrix: tf.Tensor2D;
  /** Where each shared variable lies in a row (GradVac's per-layer groups use these). */
  readonly segments: readonly { readonly name: string; readonly size: number }[];
  /** `G[i][j] = g_i · g_j` in float64 (computed on first use). */
  gram(): number[][];
  /** `Σ_t c[t] · g_t`, `[P]`. */
  combine(coefficients: readonly number[]): tf.Tensor1D;
  /** The Gram matrix of each segment's part of the rows (per-variable geometry), float64. */
  segmentGrams(): number[][][];
  /** Per segment s, `Σ_t c[s][t] · g_t` restricted to that segment, concatenated: `[P]`. */
  combineBySegment(coefficients: readonly (readonly number[])[]): tf.Tensor1D;
}

/** A gradient-based strategy's update. */
export interface GradientUpdate {
  /** The update of the shared parameters, `[P]`, at LibMTL's scale (a sum over tasks). */
  readonly shared: tf.Tensor1D;
  /**
   * Factor on each task's own gradient for its task-specific parameters (LibMTL: 1, each task-specific
   * parameter receives the gradient of its task's loss as the strategy transformed that loss).
   */
  readonly taskWeights: readonly number[];
}

interface StrategyMembers {
  /** State to carry across steps (absent: stateless). */
  state?(): StrategyState;
  /** Restores `state()`; tensors are only lent during the call. */
  restore?(state: StrategyState): void;
  /** Asks for each task's mean loss on the same batch after the update (one extra forward pass; FAMO). */
  readonly needsLossesAfterUpdate?: boolean;
  /** With `needsLossesAfterUpdate`: the losses on the batch of `step` after its update. */
  afterUpdate?(lossesAfter: readonly number[], step: WeightingStep): void;
}

/** Weights on the task losses; one backward pass per step, like equal weighting. */
export interface LossWeighting extends StrategyMembers {
  readonly uses: 'losses';
  /** Each task's weight on its mean loss (LibMTL's scale; equal weighting: 1 each). Treated as constants. */
  weights(step: WeightingStep): readonly number[];
}

/** An update built from per-task gradients; one forward and backward pass per task and step. */
export interface GradientWeighting extends StrategyMembers {
  readonly uses: 'gradients';
  update(gradients: TaskGradientMatrix, step: WeightingStep): GradientUpdate;
}

export type Weighting = LossWeighting | GradientWeighting;
