import { strict as assert } from 'node:assert';
import { admissibleNegatives, mineNegatives } from '../src/engine/mining.js';
import { pixelsToTensor } from '../src/engine/pixels.js';
import { clipByGlobalNorm } from '../src/engine/trainer.js';
import { tripletFactors } from '../src/engine/weighting.js';
import { l2NormalizeRows } from '../src/engine/embedding.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

describe('engine parts against plain computations', () => {
  it('pixelsToTensor normalises to [-1, 1] and mirrors flipped images', () => {
    const shape = [2, 3, 3] as const;
    const pixels = Uint8Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const out = tf.tidy(() => pixelsToTensor(pixels, shape, [false, true]).arraySync());
    for (let n = 0; n < 2; n++)
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 3; x++)
          for (let c = 0; c < 3; c++) {
            const sourceX = n === 1 ? 2 - x : x;
            const expected = pixels[((n * 2 + y) * 3 + sourceX) * 3 + c]! / 127.5 - 1;
            assert.ok(Math.abs(out[n]![y]![x]![c]! - expected) < 1e-6);
          }
  });

  it('l2NormalizeRows gives unit rows and leaves a zero row finite', () => {
    const rows = tf.tidy(() =>
      l2NormalizeRows(
        tf.tensor2d([
          [3, 4],
          [0, 0],
        ]),
      ).arraySync(),
    );
    assert.deepEqual(
      rows[0]!.map((v) => Math.round(v * 1e6) / 1e6),
      [0.6, 0.8],
    );
    assert.deepEqual(rows[1], [0, 0]);
  });

  it('tripletFactors average each task mean equally, whatever the counts, and weight the means', () => {
    const taskIds = Int32Array.from([0, 0, 1, 1, 1, 1, 3]); // task 2 has no triplets
    const losses = [1, 1, 2, 2, 2, 2, 5];
    const combine = (factors: Float32Array) => losses.reduce((sum, l, i) => sum + l * factors[i]!, 0);
    assert.ok(Math.abs(combine(tripletFactors(taskIds, 4)) - (1 + 2 + 5) / 3) < 1e-6);
    const weighted = tripletFactors(taskIds, 4, [0.5, 2, 7, 1]);
    assert.ok(Math.abs(combine(weighted) - (0.5 * 1 + 2 * 2 + 1 * 5) / 3) < 1e-6);
  });

  it('clipByGlobalNorm scales to the limit only when the norm exceeds it', () => {
    tf.tidy(() => {
      const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }; // global norm 5
      const clipped = clipByGlobalNorm(grads, 2.5);
      assert.deepEqual(Array.from(clipped.a!.dataSync()), [1.5, 0]);
      assert.deepEqual(Array.from(clipped.b!.dataSync()), [0, 2]);
      assert.deepEqual(Array.from(clipByGlobalNorm(grads, 10).b!.dataSync()), [0, 4]);
    });
  });

  it('mines the hard and semi-hard negatives a plain loop finds', async () => {
    const rng = new Rng(3);
    const samples = 12;
    const dim = 4;
    const raw = Array.from({ length: samples }, () => Array.from({ length: dim }, () => rng.normal()));
    const unit = raw.map((r) => {
      const n = Math.hypot(...r);
      return r.map((v) => v / n);
    });
    const sampleTask = Int32Array.from({ length: samples }, (_, s) => (s < 6 ? 0 : 1));
    const sampleLabel = Int32Array.from({ length: samples }, (_, s) => (s === 5 ? -1 : s % 3));
    const input = {
      sampleTask,
      sampleLabel,
      anchor: Int32Array.from([0, 1, 6, 7]),
      positive: Int32Array.from([3, 4, 9, 10]),
      negative: Int32Array.from([1, 2, 8, 11]),
    };
    const d = (a: number, b: number) => unit[a]!.reduce((s, v, k) => s + (v - unit[b]![k]!) ** 2, 0);
    const expectedHard: number[] = [];
    const expectedSemi: number[] = [];
    for (let i = 0; i < 4; i++) {
      const a = input.anchor[i]!;
      const candidates = [...Array(samples).keys()].filter(
        (s) =>
          s === input.negative[i] ||
          (sampleTask[s] === sampleTask[a] &&
            sampleLabel[s]! >= 0 &&
            sampleLabel[a]! >= 0 &&
            sampleLabel[s] !== sampleLabel[a]),
      );
      const byDistance = [...candidates].sort((x, y) => d(a, x) - d(a, y));
      expectedHard.push(byDistance[0]!);
      const semi = byDistance.filter((s) => d(a, s) > d(a, input.positive[i]!));
      expectedSemi.push(semi[0] ?? byDistance[0]!);
    }
    const mask = admissibleNegatives(input);
    assert.equal(mask[0 * samples + 5], 0, 'an unlabelled sample is never a negative');
    const embeddings = tf.tensor2d(unit);
    const squaredL2 = (a: tf.Tensor2D, b: tf.Tensor2D) =>
      tf.sum(tf.squaredDifference(a, b), 1) as tf.Tensor1D;
    for (const [mode, expected] of [
      ['hard', expectedHard],
      ['semi-hard', expectedSemi],
    ] as const) {
      const before = tf.memory().numTensors;
      const chosen = mineNegatives(embeddings, input, mode, squaredL2);
      assert.equal(tf.memory().numTensors, before + 1, `${mode}: only the result is left`);
      assert.deepEqual(Array.from(await chosen.data()), expected, mode);
      chosen.dispose();
    }
    embeddings.dispose();
  });
});
