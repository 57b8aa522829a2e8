import { strict as assert } from 'node:assert';
import {
  angleDegrees,
  cosine,
  cosineMatrix,
  cosineFromGram,
  deltaM,
  formatSpread,
  gramMatrix,
  meanAndSpread,
  meanOffDiagonalAngle,
  rankTopK,
  relatednessMatrix,
  retrievalAtK,
  sumMatrices,
  tripletAccuracy,
} from '../src/metrics/index.js';
import { Rng } from '../src/util/random.js';

const close = (actual: number, expected: number, tolerance = 1e-9, what = ''): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} != ${expected}`);

/** Reference ranking: full sort by (distance, irrelevant first, index), written independently. */
function referenceScores(distances: number[], relevant: number[], exclude: number, k: number) {
  const items = distances.map((d, i) => ({ d, r: relevant[i]!, i })).filter((x) => x.i !== exclude);
  items.sort((x, y) => (x.d !== y.d ? x.d - y.d : x.r !== y.r ? x.r - y.r : x.i - y.i));
  const total = items.filter((x) => x.r).length;
  let hits = 0;
  let ap = 0;
  for (let i = 0; i < Math.min(k, items.length); i++) {
    if (items[i]!.r) {
      hits++;
      ap += hits / (i + 1);
    }
  }
  return { total, ap: ap / Math.min(k, total), precision: hits / k, recall: hits / total };
}

describe('retrieval metrics', () => {
  it('scores a hand-ranked list (AP@k over min(k, R))', () => {
    // Ranked relevance 1,0,1,0,1 with R = 3 relevant items in the gallery.
    const ranked = rankTopK([0.1, 0.2, 0.3, 0.4, 0.5], [1, 0, 1, 0, 1], 5);
    assert.deepEqual([...ranked], [1, 0, 1, 0, 1]);
    const at3 = retrievalAtK(ranked, 3, 3);
    close(at3.averagePrecision, (1 / 1 + 2 / 3) / 3);
    close(at3.precision, 2 / 3);
    close(at3.recall, 2 / 3);
    const at5 = retrievalAtK(ranked, 3, 5);
    close(at5.averagePrecision, (1 + 2 / 3 + 3 / 5) / 3);
    close(at5.precision, 3 / 5);
    close(at5.recall, 1);
    // More relevant items than k: a perfect top-1 still scores AP@1 = 1.
    const at1 = retrievalAtK(ranked, 3, 1);
    assert.deepEqual(at1, { averagePrecision: 1, precision: 1, recall: 1 / 3 });
  });

  it('breaks distance ties pessimistically and never ranks the excluded query', () => {
    // Index 2 is nearest; 0 (relevant) and 1 (irrelevant) tie, so 1 ranks before 0.
    assert.deepEqual([...rankTopK([0.2, 0.2, 0.1], [1, 0, 0], 3)], [0, 0, 1]);
    // The query (index 0, distance 0, same label) is left out.
    assert.deepEqual([...rankTopK([0, 0.3, 0.1], [1, 1, 0], 3, 0)], [0, 1]);
  });

  it('counts missing places as misses when the gallery is shorter than k', () => {
    assert.deepEqual(retrievalAtK([1, 1], 2, 5), { averagePrecision: 1, precision: 2 / 5, recall: 1 });
  });

  it('refuses a query with an empty relevant set', () => {
    assert.throws(() => retrievalAtK([0, 0], 0, 2), RangeError);
  });

  it('agrees with a full-sort reference on random data with ties', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 200; trial++) {
      const size = 2 + rng.int(40);
      // Distances on a coarse grid so that ties are common.
      const distances = Array.from({ length: size }, () => rng.int(6) / 5);
      const relevant = Array.from({ length: size }, () => (rng.next() < 0.3 ? 1 : 0));
      const exclude = rng.int(size + 1) - 1;
      const k = 1 + rng.int(size + 3);
      const reference = referenceScores(distances, relevant, exclude, k);
      if (reference.total === 0) continue;
      const scores = retrievalAtK(rankTopK(distances, relevant, k, exclude), reference.total, k);
      close(scores.averagePrecision, reference.ap, 1e-12, 'AP');
      close(scores.precision, reference.precision, 1e-12, 'precision');
      close(scores.recall, reference.recall, 1e-12, 'recall');
    }
  });
});

describe('triplet accuracy', () => {
  it('counts strict wins only (ties are wrong)', () => {
    // Right, wrong, tie.
    assert.equal(tripletAccuracy([0.1, 0.5, 0.3], [0.2, 0.4, 0.3]), 1 / 3);
  });

  it('agrees with a plain loop on random data', () => {
    const rng = new Rng(4);
    const p = Array.from({ length: 500 }, () => rng.int(4));
    const n = Array.from({ length: 500 }, () => rng.int(4));
    let correct = 0;
    for (let i = 0; i < 500; i++) if (p[i]! < n[i]!) correct++;
    assert.equal(tripletAccuracy(p, n), correct / 500);
  });
});

describe('Δm and spread', () => {
  it('signs relative changes by the direction of each metric', () => {
    // Accuracy 0.5 → 0.8 (+60 %), error 1.0 → 0.5 (lower is better: +50 %): mean +55 %.
    close(deltaM([0.8, 0.5], [0.5, 1.0], [true, false]), 0.55);
    // Both worse: accuracy 0.5 → 0.4 (−20 %), error 1.0 → 1.5 (−50 %).
    close(deltaM([0.4, 1.5], [0.5, 1.0], [true, false]), -0.35);
    assert.equal(deltaM([0.5], [0.5], [true]), 0);
    assert.throws(() => deltaM([1], [0], [true]), RangeError);
    assert.throws(() => deltaM([1, 2], [1], [true]), RangeError);
  });

  it('gives mean and sample standard deviation', () => {
    const s = meanAndSpread([1, 2, 3, 4]);
    assert.equal(s.mean, 2.5);
    close(s.std, Math.sqrt(5 / 3));
    assert.deepEqual([s.min, s.max, s.n], [1, 4, 4]);
    assert.equal(formatSpread(s, 2), '2.50 ± 1.29');
    assert.equal(formatSpread(meanAndSpread([0.5]), 2), '0.50');
  });
});

describe('gradient geometry', () => {
  const randomVector = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

  it('gives cosine 1 for identical and −1 for opposite vectors', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 20; i++) {
      const a = randomVector(rng, 1 + rng.int(50));
      assert.equal(cosine(a, a), 1);
      assert.equal(
        cosine(
          a,
          a.map((v) => -v),
        ),
        -1,
      );
      assert.equal(angleDegrees(a, a), 0);
      assert.equal(
        angleDegrees(
          a,
          a.map((v) => -v),
        ),
        180,
      );
    }
    close(angleDegrees([1, 0], [0, 3]), 90, 1e-12);
    close(angleDegrees([1, 0], [1, 1]), 45, 1e-12);
    assert.ok(Number.isNaN(cosine([0, 0], [1, 2])));
  });

  it('agrees with a plain loop', () => {
    const rng = new Rng(6);
    for (let i = 0; i < 20; i++) {
      const n = 1 + rng.int(100);
      const a = randomVector(rng, n);
      const b = randomVector(rng, n);
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let j = 0; j < n; j++) {
        ab += a[j]! * b[j]!;
        aa += a[j]! * a[j]!;
        bb += b[j]! * b[j]!;
      }
      const c = ab / Math.sqrt(aa) / Math.sqrt(bb);
      close(cosine(a, b), c, 1e-12);
      close(angleDegrees(a, b), (Math.acos(c) * 180) / Math.PI, 1e-9);
    }
  });

  it('builds a symmetric task × task matrix, and layer Gram matrices add up to the whole', () => {
    const rng = new Rng(7);
    const layers = [0, 1].map(() => [0, 1, 2].map(() => randomVector(rng, 10)));
    const whole = [0, 1, 2].map((t) => Float32Array.from([...layers[0]![t]!, ...layers[1]![t]!]));
    const matrix = cosineMatrix(whole);
    for (let i = 0; i < 3; i++) {
      assert.equal(matrix[i]![i], 1);
      for (let j = 0; j < 3; j++) {
        assert.equal(matrix[i]![j], matrix[j]![i]);
        close(matrix[i]![j]!, cosine(whole[i]!, whole[j]!), 1e-12);
      }
    }
    const summed = cosineFromGram(sumMatrices(layers.map(gramMatrix)));
    summed.forEach((row, i) => row.forEach((c, j) => close(c, matrix[i]![j]!, 1e-12)));
  });

  it('averages the angle over distinct task pairs, skipping undefined ones', () => {
    // Angles 90° (0,1), 45° (0,2), 45° (1,2).
    close(
      meanOffDiagonalAngle(
        cosineMatrix([
          [1, 0],
          [0, 1],
          [1, 1],
        ]),
      ),
      60,
      1e-9,
    );
    // The zero vector's pairs are left out: only the 90° pair counts.
    close(
      meanOffDiagonalAngle(
        cosineMatrix([
          [1, 0],
          [0, 1],
          [0, 0],
        ]),
      ),
      90,
      1e-9,
    );
    assert.ok(Number.isNaN(meanOffDiagonalAngle([[1]])));
  });

  it('gives a symmetric relatedness matrix with ones on the diagonal', () => {
    const rng = new Rng(8);
    const modulation = randomVector(rng, 4 * 6);
    for (const rectify of [false, true]) {
      const m = relatednessMatrix(modulation, 4, { rectify });
      for (let i = 0; i < 4; i++) {
        assert.equal(m[i]![i], 1);
        for (let j = 0; j < 4; j++) assert.equal(m[i]![j], m[j]![i]);
      }
    }
    // Rows [1, −1] and [1, 0]: the same scaling once rectified.
    close(relatednessMatrix([1, -1, 1, 0], 2)[0]![1]!, Math.SQRT1_2, 1e-12);
    assert.equal(relatednessMatrix([1, -1, 1, 0], 2, { rectify: true })[0]![1], 1);
    assert.throws(() => relatednessMatrix([1, 2, 3], 2), RangeError);
  });
});
