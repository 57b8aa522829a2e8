import { strict as assert } from 'node:assert';
import {
  bootstrap,
  deltaM,
  deltaMEstimate,
  grandMean,
  meanEstimate,
  pairedDifference,
  quantile,
  type SeedSamples,
} from '../src/metrics/index.js';
import { Rng } from '../src/util/random.js';

const close = (actual: number, expected: number, tolerance = 1e-12, what = ''): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} != ${expected}`);

/**
 * The two-level percentile bootstrap written out as a plain float64 loop, independently of the library:
 * per resample, S seeds drawn with replacement, then each drawn seed's queries per component; the
 * figure is the mean over seed positions and components; type-7 quantiles by hand.
 */
function referenceInterval(samples: number[][][], resamples: number, seed: number, level: number) {
  const rng = new Rng(seed);
  const figures: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let total = 0;
    let cells = 0;
    for (let position = 0; position < samples.length; position++) {
      const s = rng.int(samples.length);
      for (const values of samples[s]!) {
        let sum = 0;
        for (let i = 0; i < values.length; i++) sum += values[rng.int(values.length)]!;
        total += sum / values.length;
        cells += 1;
      }
    }
    figures.push(total / cells);
  }
  figures.sort((a, b) => a - b);
  const at = (p: number) => {
    const h = (figures.length - 1) * p;
    const i = Math.floor(h);
    return figures[i]! + (h - i) * (figures[Math.min(i + 1, figures.length - 1)]! - figures[i]!);
  };
  return { low: at((1 - level) / 2), high: at(1 - (1 - level) / 2) };
}

/** seeds × components × queries of values from `draw`. */
function sample(seeds: number, components: number, queries: number, draw: (s: number, k: number) => number) {
  return Array.from({ length: seeds }, (_, s) =>
    Array.from({ length: components }, (_, k) => Array.from({ length: queries }, () => draw(s, k))),
  );
}

describe('statistics: bootstrap intervals and paired differences', () => {
  it('quantiles interpolate between order statistics (type 7)', () => {
    assert.equal(quantile([1, 2, 3, 4], 0), 1);
    assert.equal(quantile([1, 2, 3, 4], 1), 4);
    close(quantile([1, 2, 3, 4], 0.25), 1.75);
    close(quantile([10, 20], 0.975), 19.75);
    assert.equal(quantile([7], 0.3), 7);
    assert.ok(Number.isNaN(quantile([], 0.5)));
    assert.throws(() => quantile([1], 1.5), RangeError);
  });

  it('matches a float64 loop on a fixed sample with a fixed seed', () => {
    const rng = new Rng(11);
    // 3 seeds × 2 tasks × uneven query counts: 0/1 triplet outcomes and AP-like fractions.
    const samples = [
      [
        Array.from({ length: 40 }, () => (rng.next() < 0.8 ? 1 : 0)),
        Array.from({ length: 25 }, () => rng.next()),
      ],
      [
        Array.from({ length: 40 }, () => (rng.next() < 0.7 ? 1 : 0)),
        Array.from({ length: 25 }, () => rng.next()),
      ],
      [
        Array.from({ length: 40 }, () => (rng.next() < 0.9 ? 1 : 0)),
        Array.from({ length: 25 }, () => rng.next()),
      ],
    ];
    const estimate = meanEstimate(samples, { resamples: 500, seed: 7, level: 0.9 });
    const reference = referenceInterval(samples, 500, 7, 0.9);
    close(estimate.low, reference.low, 1e-12, 'low');
    close(estimate.high, reference.high, 1e-12, 'high');
    const plain = samples.flatMap((seed) => seed.map((v) => v.reduce((a, b) => a + b, 0) / v.length));
    close(estimate.value, plain.reduce((a, b) => a + b, 0) / plain.length, 1e-12, 'value');
    assert.equal(estimate.level, 0.9);
    assert.equal(estimate.resamples, 500);
    assert.ok(estimate.low < estimate.value && estimate.value < estimate.high);
    // Same seed, same interval; another seed, another (but close) one.
    assert.deepEqual(meanEstimate(samples, { resamples: 500, seed: 7, level: 0.9 }), estimate);
    const other = meanEstimate(samples, { resamples: 500, seed: 8, level: 0.9 });
    assert.notEqual(other.low, estimate.low);
    close(other.low, estimate.low, 0.05, 'another stream');
  });

  it('gives a point interval when nothing varies, and widens with seed-to-seed variation', () => {
    const constant = sample(3, 2, 10, () => 0.75);
    const flat = meanEstimate(constant, { resamples: 200 });
    assert.deepEqual([flat.low, flat.value, flat.high], [0.75, 0.75, 0.75]);
    // Queries agree within a seed but seeds differ: only the seed level varies.
    const bySeed = sample(3, 1, 10, (s) => [0.6, 0.7, 0.8][s]!);
    const spread = meanEstimate(bySeed, { resamples: 2000 });
    close(spread.value, 0.7);
    assert.ok(spread.low >= 0.6 - 1e-12 && spread.low < 0.67, `low ${spread.low}`);
    assert.ok(spread.high <= 0.8 + 1e-12 && spread.high > 0.73, `high ${spread.high}`);
  });

  it('covers the true mean about 95 % of the time on simulated data', () => {
    const rng = new Rng(5);
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const data = sample(1, 1, 60, () => rng.normal());
      const { low, high } = meanEstimate(data, { resamples: 400, seed: t });
      if (low <= 0 && 0 <= high) covered += 1;
    }
    // Binomial spread of the count at 95 %: about 3 in 200; the percentile bootstrap runs a little narrow.
    assert.ok(covered >= 176 && covered <= 198, `covered ${covered}/${trials}`);
  });

  it('pairs two methods on the same seeds and queries: shared difficulty cancels', () => {
    const rng = new Rng(3);
    // Seeds and queries vary a lot, and b is a everywhere minus 0.02: the difference is exact.
    const a = sample(3, 2, 50, (s) => 0.5 + 0.2 * s + 0.3 * rng.next());
    const b = a.map((seed) => seed.map((values) => values.map((v) => v - 0.02)));
    const diff = pairedDifference(a, b, { resamples: 1000 });
    close(diff.value, 0.02, 1e-12);
    close(diff.low, 0.02, 1e-12);
    close(diff.high, 0.02, 1e-12);
    assert.equal(diff.significant, true);
    // Unpaired, the two intervals overlap: only pairing shows the difference.
    const ia = meanEstimate(a, { resamples: 1000 });
    const ib = meanEstimate(b, { resamples: 1000 });
    assert.ok(ib.high > ia.low, `unpaired intervals [${ib.low}, ${ib.high}] and [${ia.low}, ${ia.high}]`);
  });

  it('marks a difference between two draws of the same distribution as not significant', () => {
    const rng = new Rng(9);
    const draw = () => (rng.next() < 0.8 ? 1 : 0);
    const a = sample(3, 4, 200, draw);
    const b = sample(3, 4, 200, draw);
    const diff = pairedDifference(a, b);
    assert.ok(diff.low < 0 && diff.high > 0, `[${diff.low}, ${diff.high}]`);
    assert.equal(diff.significant, false);
    close(
      diff.value,
      grandMean(a.map((s) => Float64Array.from(s, mean))) -
        grandMean(b.map((s) => Float64Array.from(s, mean))),
    );
  });

  it('Δm per seed matches deltaM, and a uniform relative loss has a point interval', () => {
    const rng = new Rng(4);
    const baseline = sample(3, 3, 30, () => 0.5 + 0.5 * rng.next());
    // 10 % worse on the first two (higher-is-better) components, 10 % higher on a lower-is-better one.
    const method = baseline.map((seed) =>
      seed.map((values, k) => values.map((v) => (k < 2 ? 0.9 * v : 1.1 * v))),
    );
    const directions = [true, true, false];
    const estimate = deltaMEstimate(method, baseline, directions, { resamples: 300 });
    close(estimate.value, -0.1, 1e-12);
    close(estimate.low, -0.1, 1e-12);
    close(estimate.high, -0.1, 1e-12);
    assert.equal(estimate.significant, true);
    // Against the per-seed deltaM of summary.ts on noisy data.
    const noisy = baseline.map((seed) =>
      seed.map((values) => values.map((v) => v * (0.8 + 0.3 * rng.next()))),
    );
    const perSeed = noisy.map((seed, s) => deltaM(seed.map(mean), baseline[s]!.map(mean), directions));
    const value = deltaMEstimate(noisy, baseline, directions, { resamples: 50 }).value;
    close(value, perSeed.reduce((a, b) => a + b, 0) / perSeed.length, 1e-12);
  });

  it('refuses series that cannot be paired and nonsense options', () => {
    const a: SeedSamples = [[[1, 0, 1]]];
    assert.throws(() => pairedDifference(a, [[[1, 0]]]), /laid out like series 0/);
    assert.throws(() => pairedDifference(a, [[[1, 0, 1]], [[1, 1, 1]]]), /laid out like series 0/);
    assert.throws(() => meanEstimate(a, { resamples: 0 }), /resamples/);
    assert.throws(() => meanEstimate(a, { level: 1 }), /level/);
    assert.throws(() => bootstrap([], () => 0), /no series/);
    assert.throws(() => meanEstimate([]), /no seeds/);
  });
});

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
