import { strict as assert } from 'node:assert';
import {
  createShapesDataset,
  DEFAULT_SHAPE_TASKS,
  SHAPE_COLOURS,
  SHAPE_TASK_NAMES,
  SHAPE_TASKS,
} from '../src/data/shapes.js';
import { shapesDataset } from '../plugins/dataset/shapes.js';

const SIZE: [number, number] = [32, 32];
const counts = (n: number) => ({ train: n, val: 0, test: 0 });

async function allPixels(ds: ReturnType<typeof createShapesDataset>): Promise<Uint8Array> {
  const split = ds.splits.train;
  return split.pixels(Array.from({ length: split.size }, (_, i) => i));
}

describe('data: shapes', () => {
  it('is deterministic from its seed, and an image does not depend on how many are drawn', async () => {
    const a = createShapesDataset({ counts: counts(20), tasks: SHAPE_TASK_NAMES }, 3, SIZE);
    const b = createShapesDataset({ counts: counts(20), tasks: SHAPE_TASK_NAMES }, 3, SIZE);
    const c = createShapesDataset({ counts: counts(20), tasks: SHAPE_TASK_NAMES }, 4, SIZE);
    const fewer = createShapesDataset({ counts: counts(5), tasks: SHAPE_TASK_NAMES }, 3, SIZE);
    assert.deepEqual(await allPixels(a), await allPixels(b));
    assert.deepEqual(a.splits.train.labels, b.splits.train.labels);
    assert.notDeepEqual(await allPixels(a), await allPixels(c));
    assert.deepEqual(await fewer.splits.train.pixels([4]), await a.splits.train.pixels([4]));
  });

  it('labels match the rendered content: colour, quadrant and background texture', async () => {
    const tasks = ['colour', 'colour-warmth', 'position', 'side', 'background'] as const;
    const n = 150;
    const ds = createShapesDataset({ counts: counts(n), tasks }, 9, SIZE);
    const px = await allPixels(ds);
    const [colour, warmth, position, side, background] = ds.splits.train.labels as Int32Array[];
    const [h, w] = SIZE;
    for (let i = 0; i < n; i++) {
      const sum = [0, 0, 0];
      let cx = 0;
      let cy = 0;
      let shapePixels = 0;
      const grey: number[] = [];
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const o = (i * h * w + y * w + x) * 3;
          const rgb = [px[o]!, px[o + 1]!, px[o + 2]!];
          // The background is grey; only the shape is saturated.
          if (Math.max(...rgb) - Math.min(...rgb) > 80) {
            rgb.forEach((v, c) => (sum[c]! += v));
            cx += x;
            cy += y;
            shapePixels++;
          } else if (Math.max(...rgb) === Math.min(...rgb)) grey.push(rgb[0]!);
        }
      }
      assert.ok(shapePixels > 0, `image ${i} shows no shape`);
      const mean = sum.map((s) => s / shapePixels);
      const nearest = SHAPE_COLOURS.map((c, k) => ({
        k,
        d: c.rgb.reduce((acc, v, j) => acc + (v - mean[j]!) ** 2, 0),
      })).sort((p, q) => p.d - q.d)[0]!.k;
      assert.equal(nearest, colour![i], `image ${i}: mean shape colour ${mean.map(Math.round)}`);
      assert.equal(warmth![i], SHAPE_COLOURS[colour![i]!]!.warm ? 0 : 1);
      const quadrant = (cy / shapePixels >= h / 2 ? 2 : 0) + (cx / shapePixels >= w / 2 ? 1 : 0);
      assert.equal(quadrant, position![i], `image ${i}: centroid ${cx / shapePixels}, ${cy / shapePixels}`);
      assert.equal(side![i], quadrant % 2);
      const distinct = new Set(grey).size;
      // A plain background is a single grey; stripes and checks have two, noise many.
      if (background![i] === 0) assert.equal(distinct, 1, `image ${i}`);
      else assert.ok(distinct >= 2, `image ${i}: background ${background![i]} has ${distinct} greys`);
    }
  });

  it('offers factor-named tasks, defaults to a related and weakly related mix, and validates options', async () => {
    for (const name of SHAPE_TASK_NAMES) assert.ok(SHAPE_TASKS[name].factors.length > 0, name);
    const options = shapesDataset.options.parse({});
    assert.deepEqual(options.tasks, [...DEFAULT_SHAPE_TASKS]);
    assert.deepEqual(options.counts, { train: 5000, val: 500, test: 1000 });
    const factors = DEFAULT_SHAPE_TASKS.map((t) => SHAPE_TASKS[t].factors.join('+'));
    assert.equal(factors.filter((f) => f === 'colour').length, 2, 'two groupings of one factor');
    assert.ok(new Set(factors).size >= 4, 'and tasks on other factors');
    assert.equal(shapesDataset.options.safeParse({ tasks: ['colour', 'colour'] }).success, false);
    assert.equal(shapesDataset.options.safeParse({ tasks: ['hue'] }).success, false);
    assert.equal(shapesDataset.options.safeParse({ count: 3 }).success, false);
    const ds = await shapesDataset.create(
      shapesDataset.options.parse({ counts: { train: 4, val: 2, test: 3 } }),
      {
        cacheDir: '/nonexistent',
        seed: 1,
        imageSize: [16, 24],
        log: { info() {}, warn() {}, progress() {} },
      },
    );
    assert.deepEqual(ds.imageShape, [16, 24, 3]);
    assert.deepEqual(
      ds.tasks.map((t) => t.name),
      [...DEFAULT_SHAPE_TASKS],
    );
    assert.equal((await ds.splits.test.pixels([2, 0])).length, 2 * 16 * 24 * 3);
  });

  it('renders thousands of 64×64 images in seconds', () => {
    const n = 2000;
    const started = performance.now();
    createShapesDataset({ counts: counts(n), tasks: DEFAULT_SHAPE_TASKS }, 1, [64, 64]);
    const seconds = (performance.now() - started) / 1000;
    console.log(`      shapes: ${Math.round(n / seconds)} images/s at 64×64`);
    assert.ok(seconds < 10, `${n} images took ${seconds.toFixed(1)} s`);
  });
});
