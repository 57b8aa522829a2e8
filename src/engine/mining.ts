/**
 * Online negative mining inside each task's share of a batch. For every triplet the candidates are all
 * samples of the same task in the batch whose label for that task is known and differs from the anchor's
 * (plus the triplet's own negative, always admissible, which covers fixed triplet lists without labels).
 *
 * - `hard`: the candidate closest to the anchor.
 * - `semi-hard` (FaceNet): the closest candidate still farther from the anchor than the positive; the
 *   hardest candidate when none is.
 *
 * Selection is a discrete choice made on the current embeddings; gradients flow through the chosen rows.
 * The choice stays on the device (a GPU engine has no synchronous read back to the host) and is cut from
 * the gradient tape, since tfjs would otherwise try to differentiate through the integer indices.
 */
import type { TripletLossFunction } from '../kinds/loss.js';
import { stopGradient } from '../nn/routing.js';
import * as tf from '../tf.js';

export type MiningMode = 'none' | 'hard' | 'semi-hard';

export interface MiningInput {
  /** Per sample: its task and its label for that task (-1: unknown). */
  readonly sampleTask: Int32Array;
  readonly sampleLabel: Int32Array;
  /** Per triplet: sample positions. */
  readonly anchor: Int32Array;
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

/** `[triplets, samples]` mask: 1 where the sample may serve as that triplet's negative. */
export function admissibleNegatives(input: MiningInput): Float32Array {
  const samples = input.sampleTask.length;
  const triplets = input.anchor.length;
  const mask = new Float32Array(triplets * samples);
  for (let i = 0; i < triplets; i++) {
    const anchor = input.anchor[i]!;
    const task = input.sampleTask[anchor]!;
    const label = input.sampleLabel[anchor]!;
    for (let s = 0; s < samples; s++) {
      const other = input.sampleLabel[s]!;
      if (input.sampleTask[s] === task && label >= 0 && other >= 0 && other !== label)
        mask[i * samples + s] = 1;
    }
    mask[i * samples + input.negative[i]!] = 1;
  }
  return mask;
}

/**
 * Sample positions of the mined negatives, one per triplet (int32 `[triplets]`, off the gradient tape), from
 * L2-normalised embeddings `[samples, D]`, ranked by the loss's own distance.
 */
export function mineNegatives(
  embeddings: tf.Tensor2D,
  input: MiningInput,
  mode: Exclude<MiningMode, 'none'>,
  distance: TripletLossFunction['distance'],
): tf.Tensor1D {
  const samples = input.sampleTask.length;
  const triplets = input.anchor.length;
  // Every (triplet, sample) pair as rows of two gathered matrices, so the loss's row-wise distance applies.
  const pairAnchor = new Int32Array(triplets * samples);
  const pairSample = new Int32Array(triplets * samples);
  for (let i = 0; i < triplets; i++) {
    pairAnchor.fill(input.anchor[i]!, i * samples, (i + 1) * samples);
    for (let s = 0; s < samples; s++) pairSample[i * samples + s] = s;
  }
  return tf.tidy(() => {
    const rows = (indices: Int32Array) => tf.gather(embeddings, tf.tensor1d(indices, 'int32')) as tf.Tensor2D;
    const distances = tf.reshape(distance(rows(pairAnchor), rows(pairSample)), [triplets, samples]);
    const admissible = tf.tensor2d(admissibleNegatives(input), [triplets, samples]);
    const blocked = tf.mul(tf.sub(1, admissible), 1e9);
    const hardest = tf.argMin(tf.add(distances, blocked), 1) as tf.Tensor1D;
    if (mode === 'hard') return stopGradient(hardest);
    const positiveDistance = tf.reshape(distance(rows(input.anchor), rows(input.positive)), [triplets, 1]);
    const farther = tf.cast(tf.greater(distances, positiveDistance), 'float32');
    const semiHard = tf.argMin(tf.add(distances, tf.add(blocked, tf.mul(tf.sub(1, farther), 1e9))), 1);
    const hasSemiHard = tf.greater(tf.max(tf.mul(admissible, farther), 1), 0);
    return stopGradient(tf.where(hasSemiHard, semiHard, hardest) as tf.Tensor1D);
  });
}
