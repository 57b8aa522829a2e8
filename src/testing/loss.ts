/**
 * The loss contract harness: `checkLossContract`. A loss is checked on unit-length embeddings (what the
 * engine hands it) for shape, per-triplet independence, order (an easy triplet costs less than a hard one),
 * its distance (non-negative, symmetric, zero on a point), tensor hygiene, and its gradient against central
 * finite differences, an independent computation.
 */
import type { AnyPluginOf } from '../kinds/index.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import * as tf from '../tf.js';
import { assertFinite, assertReleased, assertShape, check, unitRows } from './assertions.js';
import { buildPlugin, checkedOptions } from './plugin.js';

export interface LossContractOptions {
  /** Triplets in the batch (default 4). */
  batchSize?: number;
  /** Embedding size (default 6). */
  embeddingDim?: number;
  seed?: number;
  /**
   * Finite-difference step (default 1e-3: on float32 losses of order 1 it keeps both the rounding error and
   * the curvature term near 1e-3).
   */
  step?: number;
  /** Allowed |analytic − numeric| is `tolerance · max(1, |numeric|)` (default 1e-2). */
  tolerance?: number;
}

/** What the gradient check covered: coordinates compared, and those skipped at a kink. */
export interface LossContractReport {
  readonly compared: number;
  readonly skippedAtKinks: number;
}

type Triplet = [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];

/** Σ over the batch of `compute`, read back as a JavaScript number. */
function totalLoss(
  loss: TripletLossFunction,
  values: readonly Float32Array[],
  shape: [number, number],
): number {
  return tf.tidy(() => {
    const [a, p, n] = values.map((v) => tf.tensor2d(v, shape)) as Triplet;
    return tf.sum(loss.compute(a, p, n)).dataSync()[0]!;
  });
}

/**
 * Compares d(Σ loss)/d(anchor, positive, negative) from tfjs's autodiff with central differences. Where the
 * one-sided differences disagree, the loss has a kink (a hinge at its margin) within a step of the point
 * and the derivative is not defined there: that coordinate is skipped, and most must remain.
 */
function checkGradient(
  label: string,
  loss: TripletLossFunction,
  values: Float32Array[],
  shape: [number, number],
  step: number,
  tolerance: number,
): LossContractReport {
  const analytic = tf.tidy(() => {
    const inputs = values.map((v) => tf.tensor2d(v, shape)) as Triplet;
    const grads = tf.grads((a, p, n) =>
      tf.sum(loss.compute(a as tf.Tensor2D, p as tf.Tensor2D, n as tf.Tensor2D)),
    )(inputs);
    return grads.map((g) => {
      assertShape(`${label}: gradient`, g.shape, shape);
      assertFinite(`${label}: gradient`, g.dataSync());
      return g.dataSync() as Float32Array;
    });
  });
  const names = ['anchor', 'positive', 'negative'];
  let compared = 0;
  let skipped = 0;
  let largest = 0;
  values.forEach((input, which) => {
    for (let i = 0; i < input.length; i++) {
      const original = input[i]!;
      const at = (delta: number) => {
        input[i] = original + delta;
        const value = totalLoss(loss, values, shape);
        input[i] = original;
        return value;
      };
      const centre = totalLoss(loss, values, shape);
      const plus = at(step);
      const minus = at(-step);
      const forward = (plus - centre) / step;
      const backward = (centre - minus) / step;
      if (Math.abs(forward - backward) > tolerance * Math.max(1, Math.abs(forward), Math.abs(backward))) {
        skipped++;
        continue;
      }
      const numeric = (plus - minus) / (2 * step);
      const exact = analytic[which]![i]!;
      check(
        Math.abs(exact - numeric) <= tolerance * Math.max(1, Math.abs(numeric)),
        () =>
          `${label}: d(loss)/d(${names[which]}[${Math.floor(i / shape[1])}, ${i % shape[1]}]) is ${exact}, ` +
          `finite differences give ${numeric}`,
      );
      compared++;
      largest = Math.max(largest, Math.abs(exact));
    }
  });
  check(
    compared >= (2 * (compared + skipped)) / 3,
    () => `${label}: ${skipped} of ${compared + skipped} coordinates sit at a kink; try another seed`,
  );
  check(largest > 0, () => `${label}: the loss has a zero gradient everywhere on a batch of random triplets`);
  return { compared, skippedAtKinks: skipped };
}

/**
 * Checks a loss plugin: options validate, round-trip and pass `check`; `compute` gives `[N]` finite values,
 * each triplet's independent of the others in the batch, lower for an easy triplet (positive = anchor,
 * negative = −anchor) than for the reverse; `distance` gives `[N]` finite values, non-negative, symmetric and
 * 0 between a point and itself; neither leaks a tensor; the gradient matches finite differences.
 */
export async function checkLossContract(
  plugin: AnyPluginOf<'loss'>,
  rawOptions: unknown,
  options: LossContractOptions = {},
): Promise<LossContractReport> {
  const label = `loss ${plugin.name}`;
  const n = options.batchSize ?? 4;
  const d = options.embeddingDim ?? 6;
  const seed = options.seed ?? 1;
  const shape: [number, number] = [n, d];
  const lossOptions = checkedOptions('loss', plugin, rawOptions);
  const loss = await buildPlugin('loss', plugin, lossOptions, {});
  const values = [0, 1, 2].map((k) => unitRows(n, d, seed * 3 + k));

  const baseline = tf.memory().numTensors;
  const batch = tf.tidy(() => {
    const [a, p, nn] = values.map((v) => tf.tensor2d(v, shape)) as Triplet;
    const out = loss.compute(a, p, nn);
    assertShape(`${label}: compute`, out.shape, [n]);
    assertFinite(`${label}: compute`, out.dataSync());
    const distance = loss.distance(a, p);
    assertShape(`${label}: distance`, distance.shape, [n]);
    assertFinite(`${label}: distance`, distance.dataSync());
    const swapped = loss.distance(p, a).dataSync();
    const self = loss.distance(a, a).dataSync();
    distance.dataSync().forEach((value, i) => {
      check(value >= 0, () => `${label}: distance ${value} < 0 for triplet ${i}`);
      check(
        Math.abs(value - swapped[i]!) <= 1e-5 * Math.max(1, value),
        () => `${label}: distance is not symmetric: d(a, p) = ${value}, d(p, a) = ${swapped[i]}`,
      );
      check(Math.abs(self[i]!) <= 1e-5, () => `${label}: distance of a point to itself is ${self[i]}`);
    });
    return Array.from(out.dataSync());
  });
  assertReleased(label, baseline, 'after compute and distance (run them inside tf.tidy)');

  // Each triplet's loss alone equals its entry in the batch.
  for (let i = 0; i < n; i++) {
    const alone = totalLoss(
      loss,
      values.map((v) => v.slice(i * d, (i + 1) * d)),
      [1, d],
    );
    check(
      Math.abs(alone - batch[i]!) <= 1e-5 * Math.max(1, Math.abs(alone)),
      () => `${label}: triplet ${i} costs ${batch[i]} in a batch and ${alone} alone`,
    );
  }

  const anchor = values[0]!.slice(0, d);
  const opposite = anchor.map((v) => -v);
  const easy = totalLoss(loss, [anchor, anchor, opposite], [1, d]);
  const hard = totalLoss(loss, [anchor, opposite, anchor], [1, d]);
  check(
    easy < hard,
    () => `${label}: an easy triplet costs ${easy}, not less than the reversed one (${hard})`,
  );

  return checkGradient(label, loss, values, shape, options.step ?? 1e-3, options.tolerance ?? 1e-2);
}
