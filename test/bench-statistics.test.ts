import { strict as assert } from 'node:assert';
import type { ProbeRecord } from '../src/analysis/probe.js';
import {
  angleDifferenceCell,
  deltaMCell,
  finalProbes,
  gradientCell,
  metricCell,
  pairedCell,
  seedCell,
  type RunMeasurements,
} from '../src/bench/statistics.js';
import type { Metric } from '../src/kinds/evaluator.js';
import { deltaM, meanAndSpread } from '../src/metrics/index.js';
import { Rng } from '../src/util/random.js';

const TASKS = ['a', 'b'];
const close = (actual: number, expected: number, tolerance = 1e-12, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} != ${expected}`);
const mean = (values: readonly number[]) => values.reduce((x, y) => x + y, 0) / values.length;

/** A run whose per-task triplet outcomes are `outcomes[task]`, recorded as a trainer records them. */
function run(seed: number, outcomes: readonly number[][], probes?: ProbeRecord[]): RunMeasurements {
  const perTask: Metric[] = TASKS.map((task, t) => ({
    name: 'triplet-accuracy',
    task,
    value: mean(outcomes[t]!),
    higherIsBetter: true,
  }));
  const test: Metric[] = [
    ...perTask,
    { name: 'triplet-accuracy', value: mean(perTask.map((m) => m.value)), higherIsBetter: true },
    { name: 'params.total', value: 1000 + seed, higherIsBetter: false },
  ];
  return {
    seed,
    test,
    steps: 100,
    samples: {
      format: 'mtlzoo-samples/1',
      step: 100,
      metrics: TASKS.map((task, t) => ({ name: 'triplet-accuracy', task, values: outcomes[t]! })),
    },
    ...(probes ? { probes } : {}),
  };
}

function outcomes(rng: Rng, p: readonly number[], n = 200): number[][] {
  return p.map((q) => Array.from({ length: n }, () => (rng.next() < q ? 1 : 0)));
}

function probe(step: number, meanAngle: number, withinAngle: number): ProbeRecord {
  const stats = {
    cosine: [
      [1, 0],
      [0, 1],
    ],
    meanAngle,
    norm: [1, 1],
    within: [1, 1],
    withinAngle,
  };
  return {
    type: 'probe',
    step,
    tasks: TASKS,
    tripletsPerTask: 16,
    active: [4, 6],
    layers: { conv: { ...stats, meanAngle: meanAngle + 10 } },
    all: stats,
  };
}

describe('bench statistics', () => {
  const rng = new Rng(21);
  const runs = [0, 1, 2].map((seed) => run(seed, outcomes(rng, [0.8 + 0.05 * seed, 0.6])));

  it('gives each cell the recorded mean ± std over seeds and an interval over seeds and queries', () => {
    const cell = metricCell(runs, 'triplet-accuracy', TASKS);
    const recorded = runs.map(
      (r) => r.test.find((m) => m.task === undefined && m.name === 'triplet-accuracy')!.value,
    );
    const spread = meanAndSpread(recorded);
    assert.equal(cell.mean, spread.mean);
    assert.equal(cell.std, spread.std);
    assert.ok(cell.ci!.low < cell.mean && cell.mean < cell.ci!.high, JSON.stringify(cell));
    // Query-level noise widens the interval beyond what three seed means alone give.
    const seedsOnly = seedCell(recorded);
    assert.ok(cell.ci!.high - cell.ci!.low > seedsOnly.ci!.high - seedsOnly.ci!.low);
    // One task: its own samples.
    const a = metricCell(runs, 'triplet-accuracy', TASKS, 'a');
    close(a.mean, mean(runs.map((r) => mean(r.samples!.metrics[0]!.values as number[]))));
    // Metrics without per-task values: a seed-level interval of the recorded values.
    const params = metricCell(runs, 'params.total', TASKS);
    assert.deepEqual([params.mean, params.min, params.max], [1001, 1000, 1002]);
    assert.ok(params.ci!.low >= 1000 && params.ci!.high <= 1002);
    // Never measured: n = 0, no interval.
    assert.equal(metricCell(runs, 'mAP@10', TASKS).n, 0);
  });

  it('pairs rows by seed and query: a one-sided gap is significant, a row against itself is zero', () => {
    const worse = runs.map((r) =>
      run(
        r.seed,
        r.samples!.metrics.map((m) => m.values.map((v, i) => (v === 1 && i % 10 === 0 ? 0 : v))),
      ),
    );
    const diff = pairedCell(runs, worse, 'triplet-accuracy', TASKS);
    assert.equal(diff.significant, true);
    assert.ok(diff.ci!.low > 0, JSON.stringify(diff));
    const perSeed = runs.map(
      (r, i) =>
        r.test.find((m) => m.task === undefined && m.name === 'triplet-accuracy')!.value -
        worse[i]!.test.find((m) => m.task === undefined && m.name === 'triplet-accuracy')!.value,
    );
    close(diff.mean, mean(perSeed));
    // A row against itself: zero, not significant.
    const same = pairedCell(runs, runs, 'triplet-accuracy', TASKS);
    assert.deepEqual([same.mean, same.ci!.low, same.ci!.high, same.significant], [0, 0, 0, false]);
    // Only the seeds both rows have are paired.
    assert.equal(pairedCell(runs, worse.slice(1), 'triplet-accuracy', TASKS).n, 2);
  });

  it('Δm per seed is deltaM of the recorded per-task values, with an interval over seeds and queries', () => {
    const other = [0, 1, 2].map((seed) => run(seed, outcomes(rng, [0.7, 0.65])));
    const cell = deltaMCell(other, runs, ['triplet-accuracy'], TASKS);
    const perSeed = other.map((r, i) =>
      deltaM(
        TASKS.map((t) => r.test.find((m) => m.task === t)!.value),
        TASKS.map((t) => runs[i]!.test.find((m) => m.task === t)!.value),
        [true, true],
      ),
    );
    close(cell.mean, mean(perSeed));
    assert.ok(cell.ci!.low <= cell.mean && cell.mean <= cell.ci!.high);
    assert.equal(cell.significant, cell.ci!.low > 0 || cell.ci!.high < 0);
  });

  it('summarises probe records: final angle over the last quarter, the noise floor, per layer, a curve', () => {
    const probed = [0, 1, 2].map((seed) =>
      run(
        seed,
        outcomes(rng, [0.9, 0.9]),
        [25, 50, 75, 100].map((step) => probe(step, 60 + step / 5 + seed, 40 + seed)),
      ),
    );
    assert.deepEqual(
      finalProbes(probed[0]!.probes!, 100).map((p) => p.step),
      [75, 100],
    );
    const cell = gradientCell(probed)!;
    // Seed s: mean of (75 + s, 80 + s) = 77.5 + s; over seeds 78.5.
    close(cell.finalAngle.mean, 78.5);
    close(cell.finalAngle.std, 1);
    close(cell.finalWithin.mean, 41);
    close(cell.layers.conv!.mean, 88.5);
    assert.deepEqual(cell.curve.steps, [25, 50, 75, 100]);
    cell.curve.mean.forEach((m, i) => close(m, 61 + (25 * (i + 1)) / 5));
    cell.curve.low.forEach((low, i) =>
      assert.ok(low <= cell.curve.mean[i]! && cell.curve.high[i]! >= cell.curve.mean[i]!),
    );
    assert.deepEqual(cell.active, [4, 6]);
    assert.equal(gradientCell(runs), undefined, 'no probe records, no cell');
    // Paired by seed: a row 5° lower everywhere differs by exactly −5.
    const lower = probed.map((r) => ({
      ...r,
      probes: r.probes!.map((p) => probe(p.step, p.all.meanAngle - 5, 40)),
    }));
    const diff = angleDifferenceCell(lower, probed);
    close(diff.mean, -5);
    close(diff.ci!.low, -5);
    close(diff.ci!.high, -5);
    assert.equal(diff.significant, true);
  });
});
