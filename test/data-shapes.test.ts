import { strict as assert } from 'node:assert';
import {
  couplingProblem,
  createShapesDataset,
  DEFAULT_SHAPE_TASKS,
  describeShapes,
  SHAPE_COLOUR_GROUPS,
  SHAPE_COLOURS,
  SHAPE_TASK_NAMES,
  SHAPE_TASKS,
  SHAPE_TONE_RANGE,
  SHAPE_TONES,
  shapeImageFactors,
} from '../src/data/shapes.js';
import { shapesDataset } from '../plugins/dataset/shapes.js';

const SIZE: [number, number] = [32, 32];
const counts = (n: number) => ({ train: n, val: 0, test: 0 });

async function allPixels(ds: ReturnType<typeof createShapesDataset>): Promise<Uint8Array> {
  const split = ds.splits.train;
  return split.pixels(Array.from({ length: split.size }, (_, i) => i));
}

/**
 * What image `i` of a split shows, read off its pixels alone: the shape (saturated pixels; the background
 * is grey) with its mean colour, the nearest palette colour and the quadrant of its centroid, and the
 * background's grey levels.
 */
function readImage(px: Uint8Array, i: number, [h, w]: readonly [number, number]) {
  const sum = [0, 0, 0];
  let cx = 0;
  let cy = 0;
  let shapePixels = 0;
  const grey: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (i * h * w + y * w + x) * 3;
      const rgb = [px[o]!, px[o + 1]!, px[o + 2]!];
      if (Math.max(...rgb) - Math.min(...rgb) > 80) {
        rgb.forEach((v, c) => (sum[c]! += v));
        cx += x;
        cy += y;
        shapePixels++;
      } else if (Math.max(...rgb) === Math.min(...rgb)) grey.push(rgb[0]!);
    }
  }
  const mean = sum.map((v) => v / shapePixels);
  const colour = SHAPE_COLOURS.map((c, k) => ({
    k,
    d: c.rgb.reduce((acc, v, j) => acc + (v - mean[j]!) ** 2, 0),
  })).sort((p, q) => p.d - q.d)[0]!.k;
  const quadrant = (cy / shapePixels >= h / 2 ? 2 : 0) + (cx / shapePixels >= w / 2 ? 1 : 0);
  return { shapePixels, mean, colour, quadrant, grey };
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
    for (let i = 0; i < n; i++) {
      const { shapePixels, mean, colour: nearest, quadrant, grey } = readImage(px, i, SIZE);
      assert.ok(shapePixels > 0, `image ${i} shows no shape`);
      assert.equal(nearest, colour![i], `image ${i}: mean shape colour ${mean.map(Math.round)}`);
      assert.equal(warmth![i], SHAPE_COLOURS[colour![i]!]!.warm ? 0 : 1);
      assert.equal(quadrant, position![i], `image ${i}: quadrant of the shape's centroid`);
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

describe('data: shapes relatedness knob', () => {
  const KNOB_TASKS = ['colour-group', 'position', 'background', 'tone'] as const;
  const K = 4;

  /** Labels of `n` training images at ρ, from the generator (no rendering). */
  function knobLabels(rho: number, n: number, seed = 2): Int32Array[] {
    const described = describeShapes(
      { counts: { train: n, val: 1, test: 1 }, tasks: KNOB_TASKS, relatedness: rho },
      seed,
    );
    return described.splits!.train.labels as Int32Array[];
  }

  /** Agreement rate, mean correlation of matching class indicators, and Cramér's V of two labellings. */
  function association(x: Int32Array, y: Int32Array) {
    const n = x.length;
    const joint = Array.from({ length: K }, () => new Float64Array(K));
    for (let i = 0; i < n; i++) joint[x[i]!]![y[i]!]! += 1 / n;
    const px = joint.map((row) => row.reduce((a, b) => a + b, 0));
    const py = joint[0]!.map((_, j) => joint.reduce((a, row) => a + row[j]!, 0));
    let agree = 0;
    let correlation = 0;
    let phi2 = 0;
    for (let i = 0; i < K; i++) {
      agree += joint[i]![i]!;
      correlation +=
        (joint[i]![i]! - px[i]! * py[i]!) / Math.sqrt(px[i]! * (1 - px[i]!) * py[i]! * (1 - py[i]!)) / K;
      for (let j = 0; j < K; j++) phi2 += (joint[i]![j]! - px[i]! * py[j]!) ** 2 / (px[i]! * py[j]!);
    }
    return { agree, correlation, cramerV: Math.sqrt(phi2 / (K - 1)), px, py };
  }

  it('gives every task pair the stated correlation, measured on the generated labels', () => {
    const n = 20000;
    for (const rho of [0, 0.3, 0.7, 1]) {
      const labels = knobLabels(rho, n);
      for (let a = 0; a < labels.length; a++) {
        for (let b = a + 1; b < labels.length; b++) {
          const m = association(labels[a]!, labels[b]!);
          const pair = `ρ=${rho} ${KNOB_TASKS[a]}×${KNOB_TASKS[b]}`;
          // Sampling error at n = 20000: about 0.004 on the agreement, 0.007 on a correlation.
          assert.ok(Math.abs(m.agree - (rho + (1 - rho) / K)) < 0.015, `${pair}: agreement ${m.agree}`);
          assert.ok(Math.abs(m.correlation - rho) < 0.03, `${pair}: indicator correlation ${m.correlation}`);
          assert.ok(Math.abs(m.cramerV - rho) < 0.03, `${pair}: Cramér's V ${m.cramerV}`);
          for (const p of [...m.px, ...m.py])
            assert.ok(Math.abs(p - 1 / K) < 0.015, `${pair}: marginal ${p}`);
        }
      }
    }
  });

  it('renders what the coupled labels say: colour group, quadrant, texture and tone band', async () => {
    const n = 120;
    const ds = createShapesDataset({ counts: counts(n), tasks: KNOB_TASKS, relatedness: 0.5 }, 4, SIZE);
    const px = await allPixels(ds);
    const [group, position, background, tone] = ds.splits.train.labels as Int32Array[];
    for (let i = 0; i < n; i++) {
      const { colour, quadrant, grey } = readImage(px, i, SIZE);
      assert.ok(
        (SHAPE_COLOUR_GROUPS[group![i]!]!.colours as readonly number[]).includes(colour),
        `image ${i}: colour ${colour} in group ${group![i]}`,
      );
      assert.equal(quadrant, position![i], `image ${i}`);
      const distinct = new Set(grey).size;
      if (background![i] === 0) assert.equal(distinct, 1, `image ${i}`);
      else assert.ok(distinct >= 2, `image ${i}`);
      // Every texture swings symmetrically around the tone, so the mid-range of the greys is the tone.
      const midrange = (Math.min(...grey) + Math.max(...grey)) / 2;
      const [low, high] = SHAPE_TONE_RANGE;
      const band = Math.floor(((midrange - low) / (high - low)) * SHAPE_TONES.length);
      assert.equal(band, tone![i], `image ${i}: background mid-range grey ${midrange}`);
    }
  });

  it('keeps an image fixed across ρ unless its coupling changes, and leaves data without the knob alone', () => {
    const tasks = KNOB_TASKS;
    const at = (rho: number) =>
      describeShapes({ counts: counts(2000), tasks, relatedness: rho }, 5).splits!.train;
    const low = at(0.2);
    const high = at(0.6);
    let same = 0;
    for (let i = 0; i < low.size; i++) {
      if (low.labels.every((l, t) => l[i] === high.labels[t]![i])) same += 1;
    }
    // Only images whose coupling draw lies in [0.2, 0.6) can change (40 %), and a few of those keep labels.
    assert.ok(same / low.size > 0.55 && same / low.size < 0.7, `${same} of ${low.size} unchanged`);
    // Without the option, the independent factors are exactly those of sampleShapeFactors.
    const plain = describeShapes({ counts: counts(50), tasks: ['colour', 'position', 'background'] }, 5);
    for (let i = 0; i < 50; i++) {
      const { factors } = shapeImageFactors({ tasks: ['colour'] }, 5, 'train', i);
      assert.equal(plain.splits!.train.labels[0]![i], factors.colour);
      assert.equal(plain.splits!.train.labels[1]![i], factors.position);
      assert.equal(plain.splits!.train.labels[2]![i], factors.background);
    }
  });

  it('refuses tasks that cannot be coupled, naming them', () => {
    assert.match(
      couplingProblem(['colour', 'colour-warmth'])!,
      /"colour" and "colour-warmth" both depend on the colour factor/,
    );
    assert.match(couplingProblem(['position', 'size'])!, /same number of classes, got position 4, size 3/);
    assert.equal(couplingProblem([...KNOB_TASKS]), undefined);
    const parsed = shapesDataset.options.safeParse({ tasks: ['side', 'position'], relatedness: 0.5 });
    assert.equal(parsed.success, false);
    assert.equal(
      shapesDataset.options.safeParse({ tasks: [...KNOB_TASKS], relatedness: 1.2 }).success,
      false,
    );
    assert.equal(shapesDataset.options.safeParse({ tasks: ['side', 'position'] }).success, true);
  });
});
