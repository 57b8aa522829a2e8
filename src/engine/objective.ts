/**
 * The triplet objective of one batch, shared by the trainer and the gradient probe so that what the probe
 * measures is exactly what training optimises: each (image, task) sample is embedded under its task and
 * normalised (see embedding.ts), negatives are mined when asked, the loss is computed per triplet, and a
 * method that trains with its own regularisation term contributes it.
 */
import type { DatasetSplit } from '../kinds/dataset.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import type { MtlModel } from '../kinds/method.js';
import { readNow } from '../backend/read-now.js';
import * as tf from '../tf.js';
import type { UniqueImages } from '../train/sampler.js';
import { normaliseFor } from './embedding.js';
import { mineNegatives, type MiningMode } from './mining.js';

/** Each sample's label for its own task (-1 where unknown), as mining needs. */
export function sampleLabels(split: DatasetSplit, batch: UniqueImages): Int32Array {
  return Int32Array.from(
    batch.sampleImage,
    (position, s) => split.labels[batch.sampleTask[s]!]![batch.images[position]!]!,
  );
}

/** One batch's objective: per-triplet losses and the method's own penalty, if it has one. */
export interface BatchObjective {
  /** `[triplets]`, in batch order. */
  readonly losses: tf.Tensor1D;
  /** The method's regularisation term (`MtlModel.embedWithPenalty`), added once to the combined loss. */
  readonly penalty: tf.Scalar | undefined;
}

/** The method's training forward of a batch: raw (unnormalised) sample embeddings and its penalty, if any. */
export function batchForward(
  model: MtlModel,
  images: tf.Tensor4D,
  batch: UniqueImages,
): ReturnType<NonNullable<MtlModel['embedWithPenalty']>> | { embeddings: tf.Tensor2D; penalty: undefined } {
  const inputs = tf.gather(images, tf.tensor1d(batch.sampleImage, 'int32')) as tf.Tensor4D;
  const context = { training: true };
  return model.embedWithPenalty
    ? model.embedWithPenalty(inputs, batch.sampleTask, context)
    : { embeddings: model.embed(inputs, batch.sampleTask, context), penalty: undefined };
}

/**
 * Per-triplet losses `[triplets]` from the batch's raw sample embeddings (normalised as the model asks,
 * negatives mined when asked), and the negatives used.
 */
export function tripletLossesOf(
  model: MtlModel,
  raw: tf.Tensor2D,
  loss: TripletLossFunction,
  batch: UniqueImages,
  mining: MiningMode,
  split: DatasetSplit,
): { losses: tf.Tensor1D; negatives: Int32Array | tf.Tensor1D } {
  const embeddings = normaliseFor(model, raw);
  // Mined negatives stay on the device (a tensor): a GPU engine has no synchronous read.
  const pick = (rows: Int32Array | tf.Tensor1D) =>
    tf.gather(embeddings, rows instanceof Int32Array ? tf.tensor1d(rows, 'int32') : rows) as tf.Tensor2D;
  const negatives =
    mining === 'none'
      ? batch.negative
      : mineNegatives(
          embeddings,
          { ...batch, sampleLabel: sampleLabels(split, batch) },
          mining,
          loss.distance,
        );
  return { losses: loss.compute(pick(batch.anchor), pick(batch.positive), pick(negatives)), negatives };
}

/**
 * The negatives' rows as a method's penalty takes them: mined negatives are read back, synchronously (only
 * for a method with a penalty, under mining).
 */
export function negativeRows(negatives: Int32Array | tf.Tensor1D): Int32Array {
  return negatives instanceof Int32Array
    ? negatives
    : (readNow(
        negatives,
        "a method's penalty on mined negatives",
        'set train.mining: none, or use an engine with synchronous reads (tensorflow, wasm, cpu)',
      ) as Int32Array);
}

/**
 * Per-triplet losses for `images` (the batch's distinct images, `[images, H, W, 3]`), in training mode,
 * and the method's penalty. Call inside a gradient function.
 */
export function tripletLosses(
  model: MtlModel,
  loss: TripletLossFunction,
  images: tf.Tensor4D,
  batch: UniqueImages,
  mining: MiningMode,
  split: DatasetSplit,
): BatchObjective {
  return tf.tidy(() => {
    const forward = batchForward(model, images, batch);
    const { losses, negatives } = tripletLossesOf(model, forward.embeddings, loss, batch, mining, split);
    return {
      losses,
      penalty: forward.penalty?.({
        anchor: batch.anchor,
        positive: batch.positive,
        negative: negativeRows(negatives),
      }),
    };
  });
}

/** The scalar a step minimises: `taskLoss` (the weighted task losses) plus the method's penalty. */
export function withPenalty(taskLoss: tf.Scalar, objective: BatchObjective): tf.Scalar {
  return objective.penalty ? tf.add(taskLoss, objective.penalty) : taskLoss;
}

/**
 * Runs `fn` (forward passes in training mode, e.g. for extra gradients) and puts the model's state variables
 * (BatchNorm moving statistics) back as they were, so the extra passes leave no trace in the weights.
 */
export function preservingState<T>(model: MtlModel, fn: () => T): T {
  const state = model.parameters().filter((p) => !p.trainable);
  const saved = state.map((p) => tf.clone(p.variable));
  const restore = () => {
    state.forEach((p, i) => p.variable.assign(saved[i]!));
    tf.dispose(saved);
  };
  let result: T;
  try {
    result = fn();
  } catch (error) {
    restore();
    throw error;
  }
  // An asynchronous fn (one that reads values back from a GPU engine) restores once it settles.
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
