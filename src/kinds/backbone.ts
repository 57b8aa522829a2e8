/**
 * Kind `backbone`: a CNN cut into named stages that a method can wrap. The last stage is always named
 * `embedding` and outputs `[N, embeddingDim]`.
 */
import type * as tf from '../tf.js';

export interface StageDescription {
  readonly name: string;
  /** Output shape without the batch dimension: `[h, w, c]` for conv stages, `[d]` for the embedding. */
  readonly outputShape: readonly number[];
}

export interface BackboneDescription {
  readonly name: string;
  /** `[height, width, channels]` of the images the backbone takes. */
  readonly inputShape: readonly [number, number, number];
  readonly stages: readonly StageDescription[];
  readonly embeddingDim: number;
}

/**
 * What a BatchNorm layer of a backbone shows a method that takes the layer over (see
 * `ForwardContext.batchNorm`). mtlzoo's `nn` BatchNorm is one.
 */
export interface BatchNormLayer {
  readonly spec: { readonly decay: number; readonly epsilon: number; readonly scale: boolean };
  /** Trainable γ, absent when `spec.scale` is false. */
  readonly gamma: tf.Variable | undefined;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
}

export interface ForwardContext {
  /** Batch statistics and their moving-average updates in training; moving statistics otherwise. */
  readonly training: boolean;
  /**
   * Set by a method that takes over the backbone's BatchNorm layers (`task-bn`: per-task statistics and
   * affine parameters): every layer built with `nn`'s BatchNorm then calls it in place of normalising
   * with its own variables. Backbones only pass the context on.
   */
  readonly batchNorm?: (layer: BatchNormLayer, x: tf.Tensor) => tf.Tensor;
}

/** A variable with a name that is stable across runs (checkpoints are keyed by it). */
export interface NamedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
  /** False for state such as BatchNorm moving statistics: saved, but not optimised. */
  readonly trainable: boolean;
}

/**
 * One instantiated copy of a backbone with its own variables. Each variable is named
 * `<scope><stage>/…` after the stage that uses it, so a method that runs only some stages (`asen`,
 * `mmoe`) can take exactly their variables (`stageVariables` in `nn`); the contract harness checks it.
 */
export interface BackboneNet {
  readonly description: BackboneDescription;
  /** Runs stage `index` (0-based, in `description.stages` order) on its input. */
  runStage(index: number, input: tf.Tensor, context: ForwardContext): tf.Tensor;
  variables(): readonly NamedVariable[];
  dispose(): void;
}

/** What a backbone plugin creates: cheap to make (no tensors) and able to build any number of copies. */
export interface BackboneFactory {
  readonly description: BackboneDescription;
  /**
   * Builds one copy. `scope` prefixes every variable name (e.g. `task2/`); `seed` makes the initial
   * weights deterministic.
   */
  instantiate(scope: string, seed: number): BackboneNet;
}
