/**
 * The triplet objective of one batch, shared by the trainer and the gradient probe so that what the probe
 * measures is exactly what training optimises: each (image, task) sample is embedded under its task and
 * L2-normalised, negatives are mined when asked, and the loss is computed per triplet.
 */
import type { DatasetSplit } from '../kinds/dataset.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import type { MtlModel } from '../kinds/method.js';
import * as tf from '../tf.js';
import type { UniqueImages } from '../train/sampler.js';
import { normalisedEmbeddings } from './embedding.js';
import { mineNegatives, type MiningMode } from './mining.js';

/** Each sample's label for its own task (-1 where unknown), as mining needs. */
export function sampleLabels(split: DatasetSplit, batch: UniqueImages): Int32Array {
  return Int32Array.from(
    batch.sampleImage,
    (position, s) => split.labels[batch.sampleTask[s]!]![batch.images[position]!]!,
  );
}

/**
 * Per-triplet losses `[triplets]` for `images` (the batch's distinct images, `[images, H, W, 3]`), in
 * training mode. Call inside a gradient function.
 */
export function tripletLosses(
  model: MtlModel,
  loss: TripletLossFunction,
  images: tf.Tensor4D,
  batch: UniqueImages,
  mining: MiningMode,
  split: DatasetSplit,
): tf.Tensor1D {
  return tf.tidy(() => {
    const inputs = tf.gather(images, tf.tensor1d(batch.sampleImage, 'int32')) as tf.Tensor4D;
    const embeddings = normalisedEmbeddings(model, inputs, batch.sampleTask, { training: true });
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
    return loss.compute(pick(batch.anchor), pick(batch.positive), pick(negatives));
  });
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
