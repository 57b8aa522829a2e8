/**
 * example-dataset: procedural stripes, generated from a seed, no files. Two tasks: the stripes' orientation
 * (horizontal, vertical, diagonal) and their colour (red, green, blue); the phase of the stripes varies, so
 * no two images of a label are the same.
 */
import { Rng, definePlugin, z, type DatasetSplit, type SplitName, type TaskInfo } from 'mtlzoo';

const TASKS: TaskInfo[] = [
  {
    name: 'orientation',
    description: 'direction of the stripes',
    factors: ['orientation'],
    labelNames: ['horizontal', 'vertical', 'diagonal'],
  },
  {
    name: 'colour',
    description: 'colour of the stripes',
    factors: ['colour'],
    labelNames: ['red', 'green', 'blue'],
  },
];
const COLOURS = [
  [220, 40, 40],
  [40, 180, 60],
  [50, 80, 220],
];
/** Stripe period in pixels. */
const PERIOD = 4;

const count = z.number().int().positive();

function stripes(
  split: SplitName,
  size: number,
  seed: number,
  [h, w]: readonly [number, number],
): DatasetSplit {
  // One stream per split: the splits are drawn independently, and a split does not change with another's size.
  const rng = Rng.derive(seed, `example-dataset/${split}`);
  const orientation = Int32Array.from({ length: size }, () => rng.int(3));
  const colour = Int32Array.from({ length: size }, () => rng.int(3));
  const phase = Int32Array.from({ length: size }, () => rng.int(PERIOD));
  const render = (i: number, out: Uint8Array, offset: number) => {
    const rgb = COLOURS[colour[i]!]!;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const along = [y, x, x + y][orientation[i]!]! + phase[i]!;
        const light = along % PERIOD < PERIOD / 2 ? 1 : 0.25;
        for (let c = 0; c < 3; c++) out[offset + (y * w + x) * 3 + c] = Math.round(rgb[c]! * light);
      }
    }
  };
  return {
    size,
    labels: [orientation, colour],
    pixels(indices) {
      const out = new Uint8Array(indices.length * h * w * 3);
      indices.forEach((index, k) => render(index, out, k * h * w * 3));
      return Promise.resolve(out);
    },
    source: (index) => `example-dataset:${split}:${index}`,
  };
}

export const exampleDataset = definePlugin({
  kind: 'dataset',
  name: 'example-dataset',
  version: '0.1.0',
  description: 'Procedural stripes: orientation and colour tasks, generated from a seed',
  options: z.strictObject({
    counts: z
      .strictObject({ train: count.default(600), val: count.default(100), test: count.default(100) })
      .prefault({}),
    /** Fixes the data independently of the run seed. */
    seed: z.number().int().nonnegative().optional(),
  }),
  create({ counts, seed }, context) {
    const [h, w] = context.imageSize;
    const dataSeed = seed ?? context.seed;
    return {
      name: 'example-dataset',
      tasks: TASKS,
      imageShape: [h, w, 3],
      splits: {
        train: stripes('train', counts.train, dataSeed, context.imageSize),
        val: stripes('val', counts.val, dataSeed, context.imageSize),
        test: stripes('test', counts.test, dataSeed, context.imageSize),
      },
    };
  },
});
