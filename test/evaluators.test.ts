import { strict as assert } from 'node:assert';
import { evaluatorPlugins } from '../plugins/evaluator/index.js';
import type {
  Dataset,
  DatasetSplit,
  EvaluationContext,
  Metric,
  ParameterReport,
} from '../src/kinds/index.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

const report: ParameterReport = {
  sharedParams: 1000,
  paramsPerTask: 24,
  totalParams: 1048,
  bytes: 4400,
  galleryPasses: 2,
};

function split(labels: number[][], triplets?: (number[] | undefined)[]): DatasetSplit {
  return {
    size: labels[0]!.length,
    labels: labels.map((l) => Int32Array.from(l)),
    triplets: triplets?.map((t) => (t ? Int32Array.from(t) : undefined)),
    pixels: (indices) => Promise.resolve(new Uint8Array(indices.length * 2 * 2 * 3)),
    source: (index) => `image-${index}`,
  };
}

/**
 * A context over the test split whose embedding of image i under task t is `rows(t)[i]`; records which
 * images were asked for.
 */
function context(test: DatasetSplit, taskNames: string[], rows: (task: number) => number[][]) {
  const requested: number[][] = taskNames.map(() => []);
  const dataset: Dataset = {
    name: 'hand-built',
    tasks: taskNames.map((name) => ({ name, description: name, factors: [], labelNames: [] })),
    imageShape: [2, 2, 3],
    splits: { train: test, val: test, test },
  };
  const embeddingDim = rows(0)[0]!.length;
  const ctx: EvaluationContext = {
    dataset,
    split: 'test',
    embeddingDim,
    report,
    embed(task, indices) {
      requested[task]!.push(...indices);
      return Promise.resolve(Float32Array.from([...indices].flatMap((i) => rows(task)[i]!)));
    },
  };
  return { ctx, requested };
}

async function evaluate(name: string, options: unknown, ctx: EvaluationContext): Promise<Metric[]> {
  const plugin = evaluatorPlugins.find((p) => p.name === name)!;
  return (await plugin.create(plugin.options.parse(options), {})).evaluate(ctx);
}

function value(metrics: Metric[], name: string, task?: string): number {
  const found = metrics.find((m) => m.name === name && m.task === task);
  assert.ok(found, `metric ${name} ${task ?? '(all)'}`);
  return found.value;
}

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} != ${expected}`);

describe('triplet-accuracy evaluator', () => {
  it('scores fixed triplets (ties wrong) and draws label triplets with a fixed seed', async () => {
    // 1-D positions; task "fixed" has a list: right (0 is nearer 1 than 3), wrong, tie (2 and 4 both at 1).
    const positions = [[0], [0.1], [1], [0.9], [1]];
    const data = split(
      [
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, -1],
      ],
      [[0, 1, 3, 0, 3, 1, 3, 2, 4], undefined],
    );
    const { ctx, requested } = context(data, ['fixed', 'labels'], () => positions);
    const metrics = await evaluate('triplet-accuracy', { tripletsPerTask: 50 }, ctx);
    close(value(metrics, 'triplet-accuracy', 'fixed'), 1 / 3, 'fixed list');
    // Labels of task "labels" split cleanly along the line: every drawn triplet is right.
    close(value(metrics, 'triplet-accuracy', 'labels'), 1, 'drawn');
    close(value(metrics, 'triplet-accuracy'), (1 / 3 + 1) / 2, 'mean');
    // Per-task metrics carry one outcome per triplet, in list order; the average over tasks carries none.
    assert.deepEqual(metrics.find((m) => m.task === 'fixed')!.samples, [1, 0, 0]);
    assert.equal(metrics.find((m) => m.task === 'labels')!.samples!.length, 50);
    assert.equal(metrics.find((m) => m.task === undefined)!.samples, undefined);
    assert.ok(!requested[1]!.includes(4), 'an unlabelled image is never used');
    assert.equal(new Set(requested[1]).size, requested[1]!.length, 'each image embedded once');
    const again = await evaluate('triplet-accuracy', { tripletsPerTask: 50 }, ctx);
    assert.deepEqual(again, metrics);
  });

  it('fails naming a task that cannot form triplets', async () => {
    const { ctx } = context(split([[0, 0, 0]]), ['mono'], () => [[0], [1], [2]]);
    await assert.rejects(evaluate('triplet-accuracy', {}, ctx), /"mono"/);
  });
});

describe('retrieval evaluator', () => {
  // Unit vectors; image 2 duplicates 0 and image 5 duplicates 3, so some distances tie exactly.
  const vectors = [
    [1, 0],
    [0.6, 0.8],
    [1, 0],
    [0, 1],
    [-1, 0],
    [0, 1],
  ];

  it('gives hand-computed mAP, precision and recall, with ties, -1 labels and empty relevant sets', async () => {
    const data = split([
      [0, 0, 1, 1, -1, 1],
      [0, 1, 2, 2, -1, 3],
    ]);
    const { ctx, requested } = context(data, ['pairs', 'sparse'], () => vectors);
    const m = await evaluate('retrieval', { k: [2, 1], maxQueries: null }, ctx);
    // Task "pairs", gallery {0,1,2,3,5}. Ranked relevance per query at depth 2 (pessimistic ties):
    //   q0: 2(d0) 1(d.8)        → 0 1   R=1: AP@1 0, AP@2 1/2, P@2 1/2, R@2 1
    //   q1: 3,5(d.4 tie) …      → 0 0   R=1: all 0
    //   q2: 0(d0) 1(d.8)        → 0 0   R=2: all 0
    //   q3: 5(d0) 1(d.4)        → 1 0   R=2: AP@1 1, R@1 1/2, AP@2 1/2, P@2 1/2, R@2 1/2
    //   q5: 3(d0) 1(d.4)        → 1 0   same as q3
    close(value(m, 'mAP@1', 'pairs'), 2 / 5, 'mAP@1');
    close(value(m, 'precision@1', 'pairs'), 2 / 5, 'P@1');
    close(value(m, 'recall@1', 'pairs'), 1 / 5, 'R@1');
    close(value(m, 'mAP@2', 'pairs'), 1.5 / 5, 'mAP@2');
    close(value(m, 'precision@2', 'pairs'), 1.5 / 5, 'P@2');
    close(value(m, 'recall@2', 'pairs'), 2 / 5, 'R@2');
    // One value per scored query, in query order (q0, q1, q2, q3, q5), whose mean is the metric.
    const samples = (name: string, task: string) =>
      m.find((x) => x.name === name && x.task === task)!.samples;
    assert.deepEqual(samples('mAP@2', 'pairs'), [0.5, 0, 0, 0.5, 0.5]);
    assert.deepEqual(samples('recall@1', 'pairs'), [0, 0, 0, 0.5, 0.5]);
    assert.deepEqual(samples('mAP@2', 'sparse'), [0, 0]);
    assert.equal(value(m, 'skipped-queries', 'pairs'), 0);
    // Task "sparse": only 2 and 3 share a label; 0, 1 and 5 have no relevant item and are skipped.
    //   q2: 0(d0) 1(d.8) then 5 before 3 (tie at d2) → 0 0;  q3: 5(d0) 1(d.4) → 0 0.
    assert.equal(value(m, 'skipped-queries', 'sparse'), 3);
    close(value(m, 'mAP@2', 'sparse'), 0, 'sparse mAP@2');
    close(value(m, 'mAP@2'), (1.5 / 5 + 0) / 2, 'mean mAP@2');
    close(value(m, 'recall@1'), (1 / 5 + 0) / 2, 'mean R@1');
    for (const images of requested) assert.ok(!images.includes(4), 'an unlabelled image is never embedded');
  });

  it('agrees with a plain-loop reference on a gallery spanning several distance chunks', async function () {
    this.timeout(20000);
    const rng = new Rng(11);
    const size = 2300;
    const dim = 4;
    // Integer points in {-1, 0, 1}^4: every distance is an exact small integer in float32 however it is
    // computed, so ties are real ties for the evaluator and the reference alike.
    const points = Array.from({ length: 40 }, () => Array.from({ length: dim }, () => rng.int(3) - 1));
    const rows = Array.from({ length: size }, () => points[rng.int(points.length)]!);
    const labels = Array.from({ length: size }, () => (rng.next() < 0.1 ? -1 : rng.int(30)));
    const { ctx } = context(split([labels]), ['random'], () => rows);
    const ks = [1, 5, 20];
    // Every labelled image queries: ~2070 query rows against ~2070 gallery rows exceed one distance chunk.
    const m = await evaluate('retrieval', { k: ks, maxQueries: null, seed: 3 }, ctx);

    // Reference: the evaluator's documented protocol, by full sorts over every labelled image.
    const gallery = labels.flatMap((l, i) => (l === -1 ? [] : [i]));
    assert.ok(gallery.length ** 2 > 1 << 22, 'more distances than one chunk holds');
    const sums = ks.map(() => [0, 0, 0]);
    let evaluated = 0;
    for (const q of gallery) {
      const others = gallery.filter((g) => g !== q);
      const total = others.filter((g) => labels[g] === labels[q]).length;
      if (total === 0) continue;
      const ranked = others
        .map((g) => {
          let d = 0;
          for (let j = 0; j < dim; j++) d += (rows[q]![j]! - rows[g]![j]!) ** 2;
          return { d, r: labels[g] === labels[q] ? 1 : 0, g };
        })
        .sort((x, y) => x.d - y.d || x.r - y.r || x.g - y.g);
      ks.forEach((k, i) => {
        let hits = 0;
        let ap = 0;
        for (let j = 0; j < k; j++) {
          if (ranked[j]!.r) ap += ++hits / (j + 1);
        }
        sums[i]![0]! += ap / Math.min(k, total);
        sums[i]![1]! += hits / k;
        sums[i]![2]! += hits / total;
      });
      evaluated++;
    }
    assert.equal(value(m, 'skipped-queries', 'random'), gallery.length - evaluated);
    ks.forEach((k, i) => {
      close(value(m, `mAP@${k}`, 'random'), sums[i]![0]! / evaluated, `mAP@${k}`);
      close(value(m, `precision@${k}`, 'random'), sums[i]![1]! / evaluated, `precision@${k}`);
      close(value(m, `recall@${k}`, 'random'), sums[i]![2]! / evaluated, `recall@${k}`);
    });
  });
});

describe('storage evaluator', () => {
  it('reports the parameter report, lower is better', async () => {
    const { ctx } = context(split([[0, 1]]), ['t'], () => [[1], [0]]);
    const m = await evaluate('storage', {}, ctx);
    assert.deepEqual(
      m.map((x) => [x.name, x.value, x.higherIsBetter]),
      [
        ['params.total', 1048, false],
        ['params.shared', 1000, false],
        ['params.per-task', 24, false],
        ['bytes', 4400, false],
        ['gallery-passes', 2, false],
      ],
    );
  });
});

describe('evaluators', () => {
  it('have strict options with defaults', () => {
    const options = (name: string) => evaluatorPlugins.find((p) => p.name === name)!.options;
    assert.deepEqual(options('retrieval').parse({}), { k: [1, 10, 50], maxQueries: 1000, seed: 0 });
    assert.deepEqual(options('triplet-accuracy').parse({}), { tripletsPerTask: 1000, seed: 0 });
    for (const name of ['retrieval', 'triplet-accuracy', 'storage']) {
      assert.throws(() => options(name).parse({ unknown: 1 }), name);
    }
  });

  it('leave no tensors behind across repeated calls', async () => {
    const rng = new Rng(2);
    const rows = Array.from({ length: 60 }, () => [rng.normal(), rng.normal(), rng.normal()]);
    const data = split([Array.from({ length: 60 }, (_, i) => i % 4)]);
    const { ctx } = context(data, ['t'], () => rows);
    await evaluate('retrieval', {}, ctx);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      for (const name of ['retrieval', 'triplet-accuracy', 'storage']) await evaluate(name, {}, ctx);
    }
    assert.equal(tf.memory().numTensors, before);
  });
});
