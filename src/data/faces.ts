/**
 * Procedural cartoon faces (facesjs, rasterised by sharp). The attributes that become tasks are drawn
 * here from the seeded Rng, balanced and independent of each other; facesjs fills in everything else.
 */
import { faceToSvgString, generate, svgsIndex, type FaceConfig } from 'facesjs';
import type { Dataset, DatasetDescription, SplitDescription, SplitName, TaskInfo } from '../kinds/dataset.js';
import { SPLIT_NAMES } from '../kinds/dataset.js';
import type { Logger } from '../plugin/types.js';
import { Rng } from '../util/random.js';
import { decodeImage, type ImageSize } from './image.js';
import { describeSplit, openCachedSplit } from './split.js';

/** Attribute tables: label names and, per label, the facesjs values an image of that label may get. */
const SKIN_TONES = {
  light: ['#f2d6cb', '#ddb7a0', '#fedac7', '#f0c5a3', '#eab687'],
  medium: ['#bb876f', '#aa816f', '#a67358', '#ad6453'],
  dark: ['#74453d', '#5c3937'],
};
const HAIR_COLOURS = {
  black: ['#272421', '#0f0902', '#1c1008'],
  brown: ['#3D2314', '#5A3825', '#2C1608'],
  blond: ['#CC9966', '#e9c67b', '#D7BF91'],
  red: ['#B55239'],
};
/** Hair ids grouped by what they look like at a glance (checked on a contact sheet of every id). */
const HAIR_STYLES = {
  bald: ['bald', 'short-bald'],
  short: [
    'crop',
    'crop-fade',
    'crop-fade2',
    'short',
    'short2',
    'short3',
    'short-fade',
    'tall-fade',
    'high',
    'parted',
  ],
  curly: ['afro', 'afro2', 'curly', 'curly2', 'curly3', 'curlyFade1', 'curlyFade2'],
  long: ['female1', 'female2', 'female3', 'female5', 'female6', 'female7', 'female9', 'female10', 'longHair'],
};
/** Back hair that reads as long hair, so only long-haired faces get it. */
const LONG_HAIR_BACKS = ['female1', 'female2', 'female3', 'female4', 'female5', 'longHair'];
const BEARDS = svgsIndex.facialHair.filter((id) => id !== 'none');
const GLASSES = [
  'glasses1-primary',
  'glasses1-secondary',
  'glasses2-black',
  'glasses2-primary',
  'glasses2-secondary',
];
const HEADWEAR = ['hat', 'hat2', 'hat3', 'santa-hat', 'headband', 'headband-high'];
const GENDERS = ['male', 'female'] as const;

/** The drawn attributes of one face, as label ids (hair colour -1 when bald: there is no hair to see). */
export interface FaceAttributes {
  readonly gender: number;
  readonly skinTone: number;
  readonly hairColour: number;
  readonly hairStyle: number;
  readonly glasses: number;
  readonly facialHair: number;
  readonly headwear: number;
}

interface FaceTaskRow {
  readonly description: string;
  readonly labelNames: readonly string[];
  readonly factors: readonly string[];
  label(a: FaceAttributes): number;
}

export const FACE_TASKS = {
  gender: { description: 'same gender', labelNames: GENDERS, factors: ['gender'], label: (a) => a.gender },
  'skin-tone': {
    description: 'same skin tone',
    labelNames: Object.keys(SKIN_TONES),
    factors: ['skin-tone'],
    label: (a) => a.skinTone,
  },
  'hair-colour': {
    description: 'same hair colour (bald faces have none)',
    labelNames: Object.keys(HAIR_COLOURS),
    factors: ['hair-colour', 'hair-style'],
    label: (a) => a.hairColour,
  },
  'hair-style': {
    description: 'same hair style group',
    labelNames: Object.keys(HAIR_STYLES),
    factors: ['hair-style'],
    label: (a) => a.hairStyle,
  },
  glasses: {
    description: 'glasses or not',
    labelNames: ['no', 'yes'],
    factors: ['glasses'],
    label: (a) => a.glasses,
  },
  'facial-hair': {
    description: 'facial hair or not (only male faces get it)',
    labelNames: ['no', 'yes'],
    factors: ['facial-hair', 'gender'],
    label: (a) => a.facialHair,
  },
  headwear: {
    description: 'hat or headband or not',
    labelNames: ['no', 'yes'],
    factors: ['headwear'],
    label: (a) => a.headwear,
  },
} satisfies Record<string, FaceTaskRow>;

export type FaceTaskName = keyof typeof FACE_TASKS;
export const FACE_TASK_NAMES = Object.keys(FACE_TASKS) as FaceTaskName[];

export interface GeneratedFace {
  readonly face: FaceConfig;
  readonly attributes: FaceAttributes;
}

function pickGroup(rng: Rng, table: Record<string, readonly string[]>): { label: number; value: string } {
  const groups = Object.values(table);
  const label = rng.int(groups.length);
  return { label, value: rng.pick(groups[label]!) };
}

/**
 * facesjs draws the remaining features (eyes, mouth, jersey…) with Math.random. generate() is synchronous,
 * so pointing Math.random at the seeded stream for the duration of the call makes it reproducible without
 * anything else observing the swap.
 */
function withSeededMathRandom<T>(rng: Rng, body: () => T): T {
  const original = Math.random;
  Math.random = () => rng.next();
  try {
    return body();
  } finally {
    Math.random = original;
  }
}

export function generateFace(rng: Rng): GeneratedFace {
  const gender = rng.int(2);
  const skin = pickGroup(rng, SKIN_TONES);
  const hairColour = pickGroup(rng, HAIR_COLOURS);
  const hairStyle = pickGroup(rng, HAIR_STYLES);
  const glasses = rng.next() < 0.5 ? rng.pick(GLASSES) : 'none';
  const facialHair = gender === 0 && rng.next() < 0.5 ? rng.pick(BEARDS) : 'none';
  const headwear = rng.next() < 0.5 ? rng.pick(HEADWEAR) : 'none';
  const long = Object.keys(HAIR_STYLES)[hairStyle.label] === 'long';
  const hairBack = long && rng.next() < 0.5 ? rng.pick(LONG_HAIR_BACKS) : 'none';
  const bald = Object.keys(HAIR_STYLES)[hairStyle.label] === 'bald';
  // Attributes that are tasks override facesjs's own draws, whose frequencies are far from balanced.
  const face = withSeededMathRandom(rng, () =>
    generate(
      {
        body: { color: skin.value },
        hair: { id: hairStyle.value, color: hairColour.value },
        hairBg: { id: hairBack },
        glasses: { id: glasses },
        facialHair: { id: facialHair },
        accessories: { id: headwear },
      },
      { gender: GENDERS[gender]! },
    ),
  );
  return {
    face,
    attributes: {
      gender,
      skinTone: skin.label,
      hairColour: bald ? -1 : hairColour.label,
      hairStyle: hairStyle.label,
      glasses: glasses === 'none' ? 0 : 1,
      facialHair: facialHair === 'none' ? 0 : 1,
      headwear: headwear === 'none' ? 0 : 1,
    },
  };
}

const FACESJS_VIEWBOX = 'viewBox="0 0 400 600"';

/** The face as SVG cropped to the square around head and hair, drawn at the target size. */
export function faceSvg(face: FaceConfig, size: ImageSize): string {
  const svg = faceToSvgString(face);
  if (!svg.includes(FACESJS_VIEWBOX)) throw new Error(`facesjs SVG lacks the expected ${FACESJS_VIEWBOX}`);
  return svg
    .replace(FACESJS_VIEWBOX, 'viewBox="-20 20 440 440"')
    .replace('width="100%" height="100%"', `width="${size[1]}" height="${size[0]}"`);
}

export interface FacesOptions {
  readonly counts: Readonly<Record<SplitName, number>>;
  readonly tasks: readonly FaceTaskName[];
}

export interface FacesContext {
  readonly seed: number;
  readonly size: ImageSize;
  readonly cacheDir: string;
  readonly log: Logger;
}

/** Bumped when the drawing changes, so caches of older faces are not reused. */
const FACES_GENERATOR = 'facesjs-faces/1';

function faceTasks(options: FacesOptions): TaskInfo[] {
  return options.tasks.map((name) => {
    const row: FaceTaskRow = FACE_TASKS[name];
    return { name, description: row.description, factors: row.factors, labelNames: row.labelNames };
  });
}

/** The faces of one split and their labels: face configs are cheap (no drawing), so labels never need the cache. */
function facesSplit(options: FacesOptions, seed: number, split: SplitName) {
  const faces = Array.from({ length: options.counts[split] }, (_, i) =>
    generateFace(Rng.derive(seed, `faces/${split}/${i}`)),
  );
  const labels = options.tasks.map((name) => {
    const row: FaceTaskRow = FACE_TASKS[name];
    return Int32Array.from(faces, (f) => row.label(f.attributes));
  });
  const sources = faces.map((_, i) => `faces:${seed}/${split}/${i}`);
  return { faces, description: describeSplit({ labels, sources, origin: `counts.${split}` }) };
}

export function describeFaces(options: FacesOptions, seed: number): DatasetDescription {
  const splits = Object.fromEntries(
    SPLIT_NAMES.map((split) => [split, facesSplit(options, seed, split).description]),
  ) as Record<SplitName, SplitDescription>;
  return { name: 'faces', tasks: faceTasks(options), splits };
}

export async function createFacesDataset(options: FacesOptions, context: FacesContext): Promise<Dataset> {
  const { seed, size } = context;
  const splits: Partial<Record<SplitName, Dataset['splits'][SplitName]>> = {};
  for (const split of SPLIT_NAMES) {
    const { faces, description } = facesSplit(options, seed, split);
    splits[split] = await openCachedSplit(description, {
      cacheDir: context.cacheDir,
      name: `faces-${split}`,
      key: { generator: FACES_GENERATOR, seed, split },
      size,
      produce: (i) => decodeImage(Buffer.from(faceSvg(faces[i]!.face, size)), size, 'cover'),
      onBadImage: 'fail',
      log: context.log,
    });
  }
  return {
    name: 'faces',
    tasks: faceTasks(options),
    imageShape: [size[0], size[1], 3],
    splits: splits as Dataset['splits'],
  };
}
