import { strict as assert } from 'node:assert';
import { MtlzooError } from '../src/errors.js';
import type { DatasetSplit } from '../src/kinds/index.js';
import {
  samplerOptionsSchema,
  tripletCounts,
  TripletSampler,
  uniqueImages,
  type TripletBatch,
} from '../src/train/sampler.js';

function split(labels: number[][], triplets?: (number[] | undefined)[]): DatasetSplit {
  return {
    size: labels[0]!.length,
    labels: labels.map((l) => Int32Array.from(l)),
    triplets: triplets?.map((t) => (t ? Int32Array.from(t) : undefined)),
    pixels: (indices) => Promise.resolve(new Uint8Array(indices.length * 4 * 4 * 3)),
    source: (index) => `image-${index}`,
  };
}

// 24 images; task "colour" has 3 labels and some unlabelled images, "shape" 2 labels, "size" 4 labels where
// label 3 occurs once (it can be a negative but never an anchor).
const colour = Array.from({ length: 24 }, (_, i) => (i % 7 === 0 ? -1 : i % 3));
const shape = Array.from({ length: 24 }, (_, i) => (i < 12 ? 0 : 1));
const size = Array.from({ length: 24 }, (_, i) => (i === 5 ? 3 : i % 3));
const names = ['colour', 'shape', 'size'].map((name) => ({ name }));
const data = split([colour, shape, size]);
const options = samplerOptionsSchema.parse({ tripletsPerTask: 16 });

const asArrays = (b: TripletBatch) => [b.taskIds, b.anchor, b.positive, b.negative].map((a) => [...a]);

describe('TripletSampler', () => {
  it('puts the same number of triplets of each task in a batch', () => {
    const batch = new TripletSampler(data, names, 1, options).batch(0);
    assert.equal(batch.taskIds.length, 48);
    for (let t = 0; t < 3; t++) assert.equal(batch.taskIds.filter((id) => id === t).length, 16);
  });

  it('draws only triplets that follow the label rules', () => {
    const sampler = new TripletSampler(data, names, 2, options);
    const labels = [colour, shape, size];
    for (let step = 0; step < 50; step++) {
      const b = sampler.batch(step);
      for (let i = 0; i < b.taskIds.length; i++) {
        const l = labels[b.taskIds[i]!]!;
        const [a, p, n] = [b.anchor[i]!, b.positive[i]!, b.negative[i]!];
        assert.notEqual(a, p, 'anchor and positive are different images');
        assert.equal(l[a], l[p], 'anchor and positive share the label');
        assert.notEqual(l[a], l[n], 'negative has another label');
        assert.ok(l[a]! >= 0 && l[n]! >= 0, 'no unlabelled image');
      }
    }
  });

  it('is deterministic from the seed and differs across seeds', () => {
    const a = new TripletSampler(data, names, 7, options);
    const b = new TripletSampler(data, names, 7, options);
    const c = new TripletSampler(data, names, 8, options);
    assert.deepEqual(asArrays(a.batch(3)), asArrays(b.batch(3)));
    assert.notDeepEqual(asArrays(a.batch(3)), asArrays(c.batch(3)));
  });

  it('resumed at step k draws the batches of an uninterrupted run', () => {
    const fixed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    const withList = split([colour, shape, size], [undefined, fixed, undefined]);
    const through = new TripletSampler(withList, names, 9, options).batches(0);
    const expected = Array.from({ length: 8 }, () => asArrays(through.next().value as TripletBatch));
    const resumed = new TripletSampler(withList, names, 9, options).batches(5);
    for (let step = 5; step < 8; step++) {
      assert.deepEqual(asArrays(resumed.next().value as TripletBatch), expected[step], `step ${step}`);
    }
  });

  it('walks a fixed list once per epoch in a seeded order', () => {
    // 5 triplets; 16 per batch means 3.2 epochs in one batch.
    const fixed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    const sampler = new TripletSampler(split([colour, shape, size], [fixed]), names, 3, options);
    const b = sampler.batch(0);
    const firstTask = [...b.anchor.subarray(0, 16)];
    for (let epoch = 0; epoch < 3; epoch++) {
      assert.deepEqual(
        [...firstTask.slice(epoch * 5, epoch * 5 + 5)].sort((x, y) => x - y),
        [0, 3, 6, 9, 12],
      );
    }
    for (let i = 0; i < 16; i++) {
      assert.equal(b.positive[i], b.anchor[i]! + 1);
      assert.equal(b.negative[i], b.anchor[i]! + 2);
    }
  });

  it('splits the batch by weights, keeping its size', () => {
    assert.deepEqual(tripletCounts(48, [1, 1, 2]), [12, 12, 24]);
    assert.deepEqual(tripletCounts(10, [1, 1, 1]), [4, 3, 3]);
    assert.deepEqual(tripletCounts(6, [0, 1, 0]), [0, 6, 0]);
    const weighted = new TripletSampler(data, names, 1, { tripletsPerTask: 16, weights: [1, 1, 2] });
    assert.deepEqual(weighted.counts, [12, 12, 24]);
    assert.equal(weighted.batch(0).taskIds.filter((t) => t === 2).length, 24);
    assert.throws(
      () => new TripletSampler(data, names, 1, { tripletsPerTask: 4, weights: [1] }),
      MtlzooError,
    );
  });

  it('refuses a task with fewer than two labels, naming it', () => {
    const flat = split([colour, new Array<number>(24).fill(0).map((v, i) => (i < 3 ? -1 : v)), size]);
    assert.throws(
      () => new TripletSampler(flat, names, 1, options),
      (e: unknown) => e instanceof MtlzooError && e.code === 'DATA_INVALID' && /"shape"/.test(e.message),
    );
    const singletons = split([colour, Array.from({ length: 24 }, (_, i) => i), size]);
    assert.throws(() => new TripletSampler(singletons, names, 1, options), /"shape".*positive pair/);
  });

  it('options are strict with defaults', () => {
    assert.deepEqual(samplerOptionsSchema.parse({}), { tripletsPerTask: 32 });
    assert.throws(() => samplerOptionsSchema.parse({ tripletsPerTask: 4, extra: 1 }));
  });
});

describe('uniqueImages', () => {
  it('decodes each image once and embeds each (image, task) pair once', () => {
    const batch = new TripletSampler(data, names, 4, options).batch(0);
    const u = uniqueImages(batch);
    assert.equal(new Set(u.images).size, u.images.length);
    const pairs = new Set([...u.sampleImage].map((image, s) => `${u.sampleTask[s]}:${image}`));
    assert.equal(pairs.size, u.sampleImage.length);
    for (let i = 0; i < batch.taskIds.length; i++) {
      for (const [member, position] of [
        [batch.anchor[i]!, u.anchor[i]!],
        [batch.positive[i]!, u.positive[i]!],
        [batch.negative[i]!, u.negative[i]!],
      ] as const) {
        assert.equal(u.images[u.sampleImage[position]!], member);
        assert.equal(u.sampleTask[position], batch.taskIds[i]);
      }
    }
    assert.equal(
      u.images.length,
      new Set([...batch.anchor, ...batch.positive, ...batch.negative]).size,
      'every image of the batch, once',
    );
  });
});
