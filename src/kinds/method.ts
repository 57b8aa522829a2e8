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

export interface MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  /**
   * Embeddings `[N, embeddingDim]`, before L2 normalisation (the engine normalises uniformly), for
   * `images` `[N, H, W, C]` where sample i belongs to task `taskIds[i]`. Tasks may mix within a batch.
   */
  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D;
  parameters(): readonly ParameterEntry[];
  report(): ParameterReport;
  dispose(): void;
}

export interface MethodCreateContext {
  readonly backbone: BackboneFactory;
  readonly taskCount: number;
  readonly seed: number;
}
