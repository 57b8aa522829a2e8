/**
 * Kind `method`: how tasks share the backbone. A method answers one question: given images and each
 * sample's task id, what is each sample's embedding? Data, losses, metrics and backends never ask which
 * method runs.
 */
import type * as tf from '../tf.js';
import type { BackboneFactory, ForwardContext, NamedVariable } from './backbone.js';

/** A variable together with who owns it. */
export interface ParameterEntry extends NamedVariable {
  /** `shared` by all tasks, or specific to one task (index into the dataset's task list). */
  readonly owner: 'shared' | { readonly task: number };
  /**
   * `relu` when the method uses ReLU of this variable (modulation vectors, learned CSN masks): negative
   * entries then all act as 0, and analyses compare the rectified values.
   */
  readonly appliedAs?: 'relu';
}

export interface ParameterReport {
  /** Trainable parameters used by every task. */
  readonly sharedParams: number;
  /** Trainable task-specific parameters, per task (the mean when tasks differ). */
  readonly paramsPerTask: number;
  /** All trainable parameters. */
  readonly totalParams: number;
  /** Bytes of everything a checkpoint stores (trainable and state variables, float32). */
  readonly bytes: number;
  /** Forward passes a gallery image needs to be searchable under all tasks. */
  readonly galleryPasses: number;
}

/** The method's output depends on the task from the input on: a gallery needs one full pass per task. */
export interface TaskDependentFromInput {
  readonly from: 'input';
}

/**
 * The first `sharedStages` backbone stages compute the same features for every task; the task enters
 * after them. A gallery searched under several tasks runs `shared` once per image and `complete` once
 * per task, and `complete(shared(x), ids)` must equal `embed(x, ids)`.
 */
export interface TaskDependentFromFeatures {
  readonly from: 'features';
  /** How many backbone stages, counted from the input, `shared` runs (1 to all of them). */
  readonly sharedStages: number;
  /** The task-independent features of `images` (the caller owns the result). */
  shared(images: tf.Tensor4D, context: ForwardContext): tf.Tensor;
  /** Raw embeddings `[N, embeddingDim]` from features `shared` returned, sample i under task `taskIds[i]`. */
  complete(features: tf.Tensor, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D;
}

export type TaskDependence = TaskDependentFromInput | TaskDependentFromFeatures;

/** Rows of a batch's embeddings that make up each triplet: the triplet i is (anchor[i], positive[i], negative[i]). */
export interface TripletRows {
  readonly anchor: Int32Array;
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

/** A training forward pass together with the method's own regularisation term (`embedWithPenalty`). */
export interface PenalisedEmbedding {
  /** Exactly what `embed` returns for the same arguments. */
  readonly embeddings: tf.Tensor2D;
  /**
   * The method's penalty for the batch's triplets (known only after negatives are mined), a scalar that the
   * training objective adds once to the combined task loss. Called inside the caller's tidy and gradient
   * scope, so it may use tensors of the forward pass.
   */
  penalty(triplets: TripletRows): tf.Scalar;
}

export interface MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  /**
   * How the engine turns `embed`'s output into the embeddings losses, mining and metrics use: `l2` (the
   * default when absent) L2-normalises each row; `none` uses it as it is (CSN's released code compares
   * unnormalised masked embeddings).
   */
  readonly embeddingNorm?: 'l2' | 'none';
  /**
   * Embeddings `[N, embeddingDim]`, before normalisation (the engine normalises uniformly, see
   * `embeddingNorm`), for `images` `[N, H, W, C]` where sample i belongs to task `taskIds[i]`. Tasks may mix
   * within a batch.
   */
  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D;
  /**
   * Where the task starts to matter. Optional: absent means task-dependent from the input, which is
   * always correct and only costs gallery builds a full pass per task.
   */
  readonly taskDependence?: TaskDependence;
  /**
   * Optional, for methods whose authors train with a regularisation term besides the task losses (CSN's
   * embedding-norm and mask-L1 penalties): the training objective (trainer and gradient probe alike) calls
   * this in place of `embed` and adds `penalty` to the loss. Evaluation and retrieval call `embed`.
   */
  embedWithPenalty?(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): PenalisedEmbedding;
  /**
   * Optional: where each sample's embedding looks in its image, as non-negative spatial weights `[N, h, w]`
   * that sum to 1 per sample (ASEN's attribute-aware spatial attention), in inference mode. `mtlzoo analyze
   * attention` and the report draw them over the images.
   */
  explain?(images: tf.Tensor4D, taskIds: Int32Array): tf.Tensor3D;
  parameters(): readonly ParameterEntry[];
  report(): ParameterReport;
  dispose(): void;
}

export interface MethodCreateContext {
  readonly backbone: BackboneFactory;
  readonly taskCount: number;
  readonly seed: number;
}

const FROM_INPUT: TaskDependentFromInput = { from: 'input' };

/** A model's declared task dependence, with the safe default for methods that declare none. */
export function taskDependenceOf(model: MtlModel): TaskDependence {
  return model.taskDependence ?? FROM_INPUT;
}
