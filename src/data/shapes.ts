/**
 * Procedural shapes: one shape on a textured grey background per image, drawn by direct pixel
 * rasterisation (2×2 supersampling) from independent factors. Everything is derived from the seed, the
 * split and the image index, so an image never depends on how many others were asked for.
 *
 * The relatedness knob (`relatedness: ρ`) couples the tasks' labels instead: with probability ρ an image's
 * task labels are all set to one shared class, otherwise each is drawn on its own (see
 * `coupleShapeFactors`), so how far the tasks' invariances conflict is a dial from identical tasks
 * (ρ = 1) to tasks that are each other's nuisance (ρ = 0).
 */
import type { Dataset, DatasetDescription, SplitDescription, SplitName, TaskInfo } from '../kinds/dataset.js';
import { SPLIT_NAMES } from '../kinds/dataset.js';
import { Rng } from '../util/random.js';
import { dataError } from './files.js';
import type { ImageSize } from './image.js';
import { describeSplit, makeSplit } from './split.js';
import { MemoryImageStore } from './store.js';

export const SHAPE_CLASSES = ['circle', 'square', 'triangle', 'star', 'cross', 'ring'] as const;
export const SHAPE_COLOURS = [
  { name: 'red', rgb: [215, 40, 40], warm: true },
  { name: 'orange', rgb: [240, 135, 25], warm: true },
  { name: 'yellow', rgb: [225, 205, 30], warm: true },
  { name: 'magenta', rgb: [215, 45, 170], warm: true },
  { name: 'green', rgb: [40, 165, 60], warm: false },
  { name: 'cyan', rgb: [30, 185, 200], warm: false },
  { name: 'blue', rgb: [45, 70, 215], warm: false },
  { name: 'purple', rgb: [130, 50, 200], warm: false },
] as const;
/** Radius as a fraction of the shorter image side. */
export const SHAPE_SIZES = [
  { name: 'small', radius: [0.1, 0.14] },
  { name: 'medium', radius: [0.17, 0.21] },
  { name: 'large', radius: [0.24, 0.28] },
] as const;
export const SHAPE_POSITIONS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;
export const SHAPE_BACKGROUNDS = ['plain', 'stripes', 'checker', 'noise'] as const;
/** Grey level range of the background (the texture's contrast varies around it). */
export const SHAPE_TONE_RANGE = [70, 185] as const;
/** Four equal bands of background grey, darkest first: the classes of the `tone` task. */
export const SHAPE_TONES = ['dark', 'dim', 'light', 'bright'] as const;
/** Colour groups of two neighbouring hues each (indices into SHAPE_COLOURS): the `colour-group` classes. */
export const SHAPE_COLOUR_GROUPS = [
  { name: 'red-magenta', colours: [0, 3] },
  { name: 'orange-yellow', colours: [1, 2] },
  { name: 'green-cyan', colours: [4, 5] },
  { name: 'blue-purple', colours: [6, 7] },
] as const;
export const SHAPE_FACTORS = [
  'shape',
  'colour',
  'size',
  'position',
  'rotation',
  'background',
  'tone',
] as const;

/** The generating factors of one image, as indices into the tables above (rotation in radians). */
export interface ShapeFactors {
  readonly shape: number;
  readonly colour: number;
  readonly size: number;
  readonly position: number;
  readonly background: number;
  readonly rotation: number;
  /** Grey level of the background, in SHAPE_TONE_RANGE. */
  readonly tone: number;
}

type MutableFactors = { -readonly [K in keyof ShapeFactors]: ShapeFactors[K] };

interface ShapeTaskRow {
  readonly description: string;
  readonly factors: readonly (typeof SHAPE_FACTORS)[number][];
  readonly labelNames: readonly string[];
  label(f: ShapeFactors): number;
  /**
   * Sets the task's factors so that `label` gives `label`, drawing whatever the class leaves open (which
   * colour of a group, which quadrant of a side) from `rng` with a fixed number of draws. Used by the
   * relatedness coupling.
   */
  assign(f: MutableFactors, label: number, rng: Rng): void;
}

const CONVEX = [0, 1, 2];
const NON_CONVEX = [3, 4, 5];
const WARM = SHAPE_COLOURS.flatMap((c, i) => (c.warm ? [i] : []));
const COOL = SHAPE_COLOURS.flatMap((c, i) => (c.warm ? [] : [i]));
const names = (rows: readonly { name: string }[]): string[] => rows.map((r) => r.name);
const [TONE_LOW, TONE_HIGH] = SHAPE_TONE_RANGE;
const TONE_BAND = (TONE_HIGH - TONE_LOW) / SHAPE_TONES.length;
/**
 * Tones a coupled image gets within its band: the band's middle 60 %, so that two bands never touch and a
 * tone class is decidable from the image (uncoupled data spans the whole range and has fuzzy borders).
 */
const TONE_MARGIN = 0.2 * TONE_BAND;

/** Every task shapes offers: retrieval by one factor, or by a grouping of one or two factors. */
export const SHAPE_TASKS = {
  shape: {
    description: 'same shape class',
    factors: ['shape'],
    labelNames: SHAPE_CLASSES,
    label: (f) => f.shape,
    assign: (f, label) => {
      f.shape = label;
    },
  },
  'shape-convexity': {
    description: 'convex shapes (circle, square, triangle) against the others (star, cross, ring)',
    factors: ['shape'],
    labelNames: ['convex', 'non-convex'],
    label: (f) => (CONVEX.includes(f.shape) ? 0 : 1),
    assign: (f, label, rng) => {
      f.shape = rng.pick(label === 0 ? CONVEX : NON_CONVEX);
    },
  },
  colour: {
    description: 'same colour',
    factors: ['colour'],
    labelNames: names(SHAPE_COLOURS),
    label: (f) => f.colour,
    assign: (f, label) => {
      f.colour = label;
    },
  },
  'colour-warmth': {
    description: 'warm colours (red, orange, yellow, magenta) against cool ones (green, cyan, blue, purple)',
    factors: ['colour'],
    labelNames: ['warm', 'cool'],
    label: (f) => (SHAPE_COLOURS[f.colour]!.warm ? 0 : 1),
    assign: (f, label, rng) => {
      f.colour = rng.pick(label === 0 ? WARM : COOL);
    },
  },
  size: {
    description: 'same size class',
    factors: ['size'],
    labelNames: names(SHAPE_SIZES),
    label: (f) => f.size,
    assign: (f, label) => {
      f.size = label;
    },
  },
  position: {
    description: 'same image quadrant',
    factors: ['position'],
    labelNames: SHAPE_POSITIONS,
    label: (f) => f.position,
    assign: (f, label) => {
      f.position = label;
    },
  },
  side: {
    description: 'same half of the image (left or right)',
    factors: ['position'],
    labelNames: ['left', 'right'],
    label: (f) => f.position % 2,
    assign: (f, label, rng) => {
      f.position = label + 2 * rng.int(2);
    },
  },
  background: {
    description: 'same background texture',
    factors: ['background'],
    labelNames: SHAPE_BACKGROUNDS,
    label: (f) => f.background,
    assign: (f, label) => {
      f.background = label;
    },
  },
  'shape-colour': {
    description: 'same shape class and colour',
    factors: ['shape', 'colour'],
    labelNames: SHAPE_CLASSES.flatMap((s) => SHAPE_COLOURS.map((c) => `${c.name} ${s}`)),
    label: (f) => f.shape * SHAPE_COLOURS.length + f.colour,
    assign: (f, label) => {
      f.shape = Math.floor(label / SHAPE_COLOURS.length);
      f.colour = label % SHAPE_COLOURS.length;
    },
  },
  'colour-group': {
    description:
      'same colour group (two neighbouring hues: red-magenta, orange-yellow, green-cyan, blue-purple)',
    factors: ['colour'],
    labelNames: names(SHAPE_COLOUR_GROUPS),
    label: (f) => SHAPE_COLOUR_GROUPS.findIndex((g) => (g.colours as readonly number[]).includes(f.colour)),
    assign: (f, label, rng) => {
      f.colour = rng.pick(SHAPE_COLOUR_GROUPS[label]!.colours);
    },
  },
  tone: {
    description: 'same background brightness (four bands of grey, dark to bright)',
    factors: ['tone'],
    labelNames: SHAPE_TONES,
    label: (f) => Math.min(SHAPE_TONES.length - 1, Math.floor((f.tone - TONE_LOW) / TONE_BAND)),
    assign: (f, label, rng) => {
      f.tone = TONE_LOW + label * TONE_BAND + rng.uniform(TONE_MARGIN, TONE_BAND - TONE_MARGIN);
    },
  },
} satisfies Record<string, ShapeTaskRow>;

export type ShapeTaskName = keyof typeof SHAPE_TASKS;
export const SHAPE_TASK_NAMES = Object.keys(SHAPE_TASKS) as ShapeTaskName[];
/**
 * Two groupings of the colour factor (strongly related) beside shape, position and background, whose
 * invariances conflict (shape ignores where and on what; position ignores what; background ignores the
 * foreground): related and weakly related tasks side by side, so interference can show.
 */
export const DEFAULT_SHAPE_TASKS: readonly ShapeTaskName[] = [
  'colour',
  'colour-warmth',
  'shape',
  'position',
  'background',
];

export function shapeTaskInfo(name: ShapeTaskName): TaskInfo {
  const row: ShapeTaskRow = SHAPE_TASKS[name];
  return { name, description: row.description, factors: row.factors, labelNames: row.labelNames };
}

export function sampleShapeFactors(rng: Rng): ShapeFactors {
  return {
    shape: rng.int(SHAPE_CLASSES.length),
    colour: rng.int(SHAPE_COLOURS.length),
    size: rng.int(SHAPE_SIZES.length),
    position: rng.int(SHAPE_POSITIONS.length),
    background: rng.int(SHAPE_BACKGROUNDS.length),
    rotation: rng.uniform(0, 2 * Math.PI),
    // The first draw rendering used to make: drawn here, it is a factor tasks can use, with the same stream.
    tone: rng.uniform(TONE_LOW, TONE_HIGH),
  };
}

/**
 * The relatedness knob: with probability `relatedness` (ρ) every task's label is set to one shared class,
 * otherwise each task's label is drawn on its own; both uniformly over the K classes the tasks share.
 * Factors no task uses stay as `sampleShapeFactors` drew them. For two tasks X, Y this gives
 * P(X = i, Y = j) = ρ·δij/K + (1 − ρ)/K², so they agree with probability ρ + (1 − ρ)/K, and both the
 * correlation of their class indicators (1[X = i] against 1[Y = i]) and Cramér's V equal ρ. At ρ = 1 the
 * tasks are one labelling of the images; at ρ = 0 they are independent, so each task's target factor is
 * pure nuisance to every other task, and a shared embedding must be invariant to what another task must
 * see. The same number of draws is made whatever ρ is, so images of one seed differ across ρ only where
 * the coupling decision differs.
 */
export function coupleShapeFactors(
  factors: ShapeFactors,
  tasks: readonly ShapeTaskName[],
  relatedness: number,
  rng: Rng,
): ShapeFactors {
  const classes = shapeTaskClasses(tasks);
  const coupled = rng.next() < relatedness;
  const shared = rng.int(classes);
  const out: MutableFactors = { ...factors };
  for (const task of tasks) {
    const own = rng.int(classes);
    (SHAPE_TASKS[task] as ShapeTaskRow).assign(out, coupled ? shared : own, rng);
  }
  return out;
}

/**
 * Why `tasks` cannot be coupled (they must use distinct factors and have the same number of classes), or
 * undefined when they can.
 */
export function couplingProblem(tasks: readonly ShapeTaskName[]): string | undefined {
  const seen = new Map<string, ShapeTaskName>();
  for (const task of tasks) {
    for (const factor of SHAPE_TASKS[task].factors) {
      const other = seen.get(factor);
      if (other) {
        return `tasks "${other}" and "${task}" both depend on the ${factor} factor, so their labels cannot be coupled independently; pick tasks on distinct factors`;
      }
      seen.set(factor, task);
    }
  }
  const counts = tasks.map((t) => `${t} ${SHAPE_TASKS[t].labelNames.length}`);
  if (new Set(tasks.map((t) => SHAPE_TASKS[t].labelNames.length)).size > 1) {
    return `coupled tasks need the same number of classes, got ${counts.join(', ')} (e.g. colour-group, position, background and tone have 4 each)`;
  }
  return undefined;
}

function shapeTaskClasses(tasks: readonly ShapeTaskName[]): number {
  const problem = couplingProblem(tasks);
  if (problem) throw new RangeError(`relatedness: ${problem}`);
  return SHAPE_TASKS[tasks[0]!].labelNames.length;
}

function polygon(points: number, outer: number, inner: number): Float64Array {
  const n = inner > 0 ? points * 2 : points;
  const out = new Float64Array(n * 2);
  for (let k = 0; k < n; k++) {
    const radius = inner > 0 && k % 2 === 1 ? inner : outer;
    const angle = -Math.PI / 2 + (2 * Math.PI * k) / n;
    out[2 * k] = radius * Math.cos(angle);
    out[2 * k + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** Crossing-number test against a closed polygon given as [x0, y0, x1, y1, ...]. */
function inPolygon(vertices: Float64Array, u: number, v: number): boolean {
  let inside = false;
  const n = vertices.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = vertices[2 * i]!;
    const yi = vertices[2 * i + 1]!;
    const xj = vertices[2 * j]!;
    const yj = vertices[2 * j + 1]!;
    if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const TRIANGLE = polygon(3, 1.05, 0);
const STAR = polygon(5, 1.05, 0.45);

/** Membership tests in the shape's own frame, where the shape fits the unit circle; indexed like SHAPE_CLASSES. */
const INSIDE: readonly ((u: number, v: number) => boolean)[] = [
  (u, v) => u * u + v * v <= 1,
  (u, v) => Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8,
  (u, v) => inPolygon(TRIANGLE, u, v),
  (u, v) => inPolygon(STAR, u, v),
  (u, v) => (Math.abs(u) <= 0.3 && Math.abs(v) <= 0.9) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 0.9),
  (u, v) => {
    const r2 = u * u + v * v;
    return r2 <= 1 && r2 >= 0.45 * 0.45;
  },
];

const SUBSAMPLES = [0.25, 0.75];

/** Renders one image into `out` (H × W × 3) from its factors; `rng` supplies the within-class variation. */
export function renderShape(f: ShapeFactors, rng: Rng, size: ImageSize, out: Uint8Array): void {
  const [height, width] = size;
  const side = Math.min(height, width);
  // Grey background: the foreground colour is the only saturated thing in the image.
  const tone = f.tone;
  const contrast = rng.uniform(20, 40);
  const period = Math.max(2, rng.uniform(0.08, 0.16) * side);
  const texture = SHAPE_BACKGROUNDS[f.background]!;
  const vertical = rng.next() < 0.5;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let value = tone;
      if (texture === 'stripes') value += Math.floor((vertical ? x : y) / period) % 2 ? contrast : -contrast;
      else if (texture === 'checker') {
        value += (Math.floor(x / period) + Math.floor(y / period)) % 2 ? contrast : -contrast;
      } else if (texture === 'noise') value += rng.uniform(-1.5, 1.5) * contrast;
      const o = (y * width + x) * 3;
      out[o] = out[o + 1] = out[o + 2] = value;
    }
  }

  const [low, high] = SHAPE_SIZES[f.size]!.radius;
  const radius = rng.uniform(low, high) * side;
  const cx = ((f.position % 2 ? 0.75 : 0.25) + rng.uniform(-0.07, 0.07)) * width;
  const cy = ((f.position >= 2 ? 0.75 : 0.25) + rng.uniform(-0.07, 0.07)) * height;
  const rgb = SHAPE_COLOURS[f.colour]!.rgb.map((c) => c + rng.uniform(-15, 15));
  const inside = INSIDE[f.shape]!;
  const cos = Math.cos(f.rotation) / radius;
  const sin = Math.sin(f.rotation) / radius;
  const reach = radius * 1.1;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(width - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(height - 1, Math.ceil(cy + reach));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let hits = 0;
      for (const sy of SUBSAMPLES) {
        for (const sx of SUBSAMPLES) {
          const dx = x + sx - cx;
          const dy = y + sy - cy;
          if (inside(dx * cos + dy * sin, -dx * sin + dy * cos)) hits++;
        }
      }
      if (hits === 0) continue;
      const cover = hits / 4;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = out[o + c]! * (1 - cover) + rgb[c]! * cover;
    }
  }
}

export interface ShapesOptions {
  readonly counts: Readonly<Record<SplitName, number>>;
  readonly tasks: readonly ShapeTaskName[];
  /** Overrides the run seed, so the data can stay fixed while weights vary. */
  readonly seed?: number;
  /** ρ in [0, 1]: couples the tasks' labels (`coupleShapeFactors`); absent, every factor is independent. */
  readonly relatedness?: number;
}

/**
 * Factors of image `index` of `split`, and the generator that renders it; also what tests and previews use
 * to check the rendered content.
 */
export function shapeImageFactors(
  options: Pick<ShapesOptions, 'tasks' | 'relatedness'>,
  seed: number,
  split: SplitName,
  index: number,
): { factors: ShapeFactors; rng: Rng } {
  const rng = Rng.derive(seed, `shapes/${split}/${index}`);
  const factors = sampleShapeFactors(rng);
  if (options.relatedness === undefined) return { factors, rng };
  return { factors: coupleShapeFactors(factors, options.tasks, options.relatedness, rng), rng };
}

/** Labels and sources of one split: factors are drawn without rendering, so this is cheap. */
function shapesSplit(options: ShapesOptions, seed: number, split: SplitName): SplitDescription {
  const count = options.counts[split];
  const labels = options.tasks.map(() => new Int32Array(count));
  const sources: string[] = [];
  for (let i = 0; i < count; i++) {
    const { factors } = shapeImageFactors(options, seed, split, i);
    options.tasks.forEach((task, t) => {
      labels[t]![i] = (SHAPE_TASKS[task] as ShapeTaskRow).label(factors);
    });
    sources.push(`shapes:${seed}/${split}/${i}`);
  }
  return describeSplit({ labels, sources, origin: `counts.${split}` });
}

export function describeShapes(options: ShapesOptions, seed: number): DatasetDescription {
  const splits = Object.fromEntries(SPLIT_NAMES.map((split) => [split, shapesSplit(options, seed, split)]));
  return {
    name: 'shapes',
    tasks: options.tasks.map(shapeTaskInfo),
    splits: splits as Record<SplitName, SplitDescription>,
  };
}

/** Shapes are held in memory, one array per split; larger splits belong in a file-backed dataset. */
export const MAX_SHAPES_SPLIT_BYTES = 2 ** 31;

export function createShapesDataset(options: ShapesOptions, seed: number, size: ImageSize): Dataset {
  const bytes = size[0] * size[1] * 3;
  for (const split of SPLIT_NAMES) {
    const needed = options.counts[split] * bytes;
    if (needed > MAX_SHAPES_SPLIT_BYTES) {
      throw dataError(
        `shapes ${split} split: ${options.counts[split]} images of ${size[0]}×${size[1]} need ` +
          `${(needed / 2 ** 30).toFixed(1)} GiB of memory, more than the ${MAX_SHAPES_SPLIT_BYTES / 2 ** 30} GiB ` +
          `a split may hold; lower counts.${split}`,
      );
    }
  }
  const { tasks, splits } = describeShapes(options, seed);
  const opened = Object.fromEntries(
    SPLIT_NAMES.map((split) => {
      const parts = splits![split];
      const pixels = new Uint8Array(parts.size * bytes);
      for (let i = 0; i < parts.size; i++) {
        const { factors, rng } = shapeImageFactors(options, seed, split, i);
        renderShape(factors, rng, size, pixels.subarray(i * bytes, (i + 1) * bytes));
      }
      return [split, makeSplit(parts, new MemoryImageStore(pixels, bytes))];
    }),
  ) as Record<SplitName, ReturnType<typeof makeSplit>>;
  return { name: 'shapes', tasks, imageShape: [size[0], size[1], 3], splits: opened };
}
