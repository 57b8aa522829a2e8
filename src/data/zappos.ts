/**
 * UT-Zappos50K with the CSN protocol: the ut-zap50k-images tree, ut-zap50k-data/meta-data.csv, and
 * filenames.json (one image path a line, relative to ut-zap50k-images/) plus
 * tripletlists/{condition}_tripletlist_{split}.txt, where a line `a b c` says a is closer to c than to b.
 * A seeded generator writes such lists from the metadata, because the official download has gone dead
 * more than once; the dataset reads generated and official lists the same way.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type {
  Dataset,
  DatasetDescribeContext,
  DatasetDescription,
  SplitDescription,
  SplitName,
  TaskInfo,
} from '../kinds/dataset.js';
import { SPLIT_NAMES } from '../kinds/dataset.js';
import { Rng } from '../util/random.js';
import { keyHash } from '../util/hash.js';
import { CACHE_DIR_HINT, type OnBadImage } from './cache.js';
import {
  dataError,
  ensureWritableDirectory,
  fields,
  lineError,
  nonBlankLines,
  parseIndex,
  readText,
  requireDirectory,
  splitCsvLine,
} from './files.js';
import { writeFileAtomic } from '../util/write.js';
import type { FitMode } from './image.js';
import { describeSplit, openFileDataset, type FileDatasetContext } from './split.js';

export const ZAPPOS_CONDITIONS = ['class', 'closure', 'gender', 'heel'] as const;
export type ZapposCondition = (typeof ZAPPOS_CONDITIONS)[number];

export const IMAGE_FOLDER = 'ut-zap50k-images';
export const METADATA_FILE = path.join('ut-zap50k-data', 'meta-data.csv');
const REQUIRED_COLUMNS = ['CID', 'Category', 'SubCategory', 'HeelHeight', 'Closure', 'Gender'] as const;

/** Metadata of one shoe, multi-valued fields split on `;`, blanks as empty lists. */
export interface ShoeRecord {
  readonly cid: string;
  readonly category: readonly string[];
  readonly closure: readonly string[];
  readonly gender: readonly string[];
  readonly heelHeight: readonly string[];
  readonly line: number;
}

const multi = (value: string): string[] =>
  value
    .split(';')
    .map((v) => v.trim())
    .filter((v) => v !== '');

export function parseMetadata(content: string, file: string): Map<string, ShoeRecord> {
  const lines = nonBlankLines(content);
  const header = lines[0];
  if (!header) throw lineError(file, 1, `expected a header line with columns ${REQUIRED_COLUMNS.join(', ')}`);
  const columns = splitCsvLine(header.text, file, header.number).map((c) => c.trim());
  const at = Object.fromEntries(
    REQUIRED_COLUMNS.map((name) => {
      const k = columns.indexOf(name);
      if (k < 0)
        throw lineError(file, header.number, `missing column ${name}; the header has: ${columns.join(', ')}`);
      return [name, k];
    }),
  ) as Record<(typeof REQUIRED_COLUMNS)[number], number>;
  const out = new Map<string, ShoeRecord>();
  for (const line of lines.slice(1)) {
    const values = splitCsvLine(line.text, file, line.number);
    if (values.length !== columns.length) {
      throw lineError(
        file,
        line.number,
        `expected ${columns.length} comma-separated fields, got ${values.length}`,
      );
    }
    const cid = values[at.CID]!.trim();
    if (cid === '') throw lineError(file, line.number, 'empty CID');
    const earlier = out.get(cid);
    if (earlier)
      throw lineError(file, line.number, `CID ${cid} is listed again (first on line ${earlier.line})`);
    const heelHeight = multi(values[at.HeelHeight]!);
    heelHeight.forEach((h) => parseHeelHeight(h, file, line.number));
    out.set(cid, {
      cid,
      category: multi(values[at.Category]!),
      closure: multi(values[at.Closure]!),
      gender: multi(values[at.Gender]!),
      heelHeight,
      line: line.number,
    });
  }
  return out;
}

/** A heel height as an interval in inches: `Flat` is [0, 0], `1 inch` [1, 1], `Under 1in` [0, 1]. */
export interface HeelRange {
  readonly low: number;
  readonly high: number;
}

const UNIT_INCHES: Record<string, number> = { in: 1, cm: 1 / 2.54, mm: 1 / 25.4 };
// A mixed number (`1 1/2`), a fraction (`1/2`) or a decimal (`2.5`), then an optional unit.
const NUMBER = String.raw`(\d+\s+\d+/\d+|\d+/\d+|\d+(?:\.\d+)?)\s*(in|cm|mm)?`;
const HEEL_FORMS: readonly { pattern: RegExp; range(a: number, b: number): [number, number] }[] = [
  { pattern: new RegExp(`^(?:under|less than|below|<)\\s*${NUMBER}$`), range: (a) => [0, a] },
  {
    pattern: new RegExp(`^${NUMBER}\\s*(?:(?:&|and)\\s*(?:over|up|above|higher)|\\+)$`),
    range: (a) => [a, Infinity],
  },
  { pattern: new RegExp(`^(?:over|above)\\s*${NUMBER}$`), range: (a) => [a, Infinity] },
  { pattern: new RegExp(`^${NUMBER}\\s*(?:-|to)\\s*${NUMBER}$`), range: (a, b) => [a, b] },
  { pattern: new RegExp(`^${NUMBER}$`), range: (a) => [a, a] },
];

function numberValue(text: string): number {
  const [whole, fraction] = text.includes(' ')
    ? text.split(/\s+/)
    : text.includes('/')
      ? ['0', text]
      : [text];
  const [n, d] = (fraction ?? '0/1').split('/').map(Number) as [number, number];
  return Number(whole) + (d > 0 ? n / d : NaN);
}

/**
 * Heel height from the metadata's wording, whichever vocabulary it uses: `Flat`, `1/2 inch`, `1 inch`,
 * `1 1/2 inch`, `3 1/2 inch`, Zappos's ranges (`Under 1in`, `1in - 1 3/4in`, `5in & over`), `2.5"`, cm.
 */
export function parseHeelHeight(text: string, file: string, line: number): HeelRange {
  const normal = text
    .trim()
    .toLowerCase()
    .replace(/½/g, ' 1/2')
    .replace(/¼/g, ' 1/4')
    .replace(/¾/g, ' 3/4')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\s*(?:inches|inch|in\.|"|'')/g, 'in')
    .replace(/\s+/g, ' ')
    .trim();
  if (normal === 'flat' || normal === 'flats') return { low: 0, high: 0 };
  for (const form of HEEL_FORMS) {
    const match = form.pattern.exec(normal);
    if (!match) continue;
    // A range's unit may be written once, after its second number (`1 - 1 3/4 inch`).
    const unit = match[2] ?? match[4] ?? 'in';
    const a = numberValue(match[1]!) * UNIT_INCHES[unit]!;
    const b = match[3] === undefined ? a : numberValue(match[3]) * UNIT_INCHES[match[4] ?? unit]!;
    const [low, high] = form.range(a, b);
    if (Number.isFinite(low) && !(high < low)) return { low, high };
  }
  throw lineError(
    file,
    line,
    `heel height "${text}": expected Flat, a height such as "1/2 inch", "1 1/2 inch" or "3in", or a range such as "Under 1in", "1in - 1 3/4in", "5in & over"`,
  );
}

/** Heights in order: by lower bound, then upper bound (`Flat` < `Under 1in` < `1/2 inch` < `1 inch`). */
export function compareHeel(a: HeelRange, b: HeelRange): number {
  return a.low - b.low || a.high - b.high;
}

/** `Shoes/Oxfords/Brand/7965307.5291.jpg` → `7965307-5291`: file names spell the CID with `.` for `-`. */
export function cidOfImage(imagePath: string): string {
  return path
    .basename(imagePath)
    .replace(/\.jpe?g$/i, '')
    .replace(/\./g, '-');
}

/** Every image of the tree, as paths relative to ut-zap50k-images/ (the CSN form), in a stable order. */
export async function scanImages(root: string): Promise<string[]> {
  const dir = path.join(root, IMAGE_FOLDER);
  await requireDirectory(dir, `UT-Zappos50K image folder ${IMAGE_FOLDER}`);
  const entries = await fs.readdir(dir, { recursive: true });
  return entries
    .map((e) => e.split(path.sep).join('/'))
    .filter((e) => /\.jpe?g$/i.test(e) && e.split('/').length === 4)
    .sort();
}

/**
 * The file of a filenames.json line. CSN's lines are relative to ut-zap50k-images/ (its loader joins the
 * root, that folder and the line); lines that already start with the folder are read as relative to the
 * root, as some copies of the list have them.
 */
export function imageFile(root: string, line: string): string {
  const parts = line.split(/[\\/]/);
  return parts[0] === IMAGE_FOLDER ? path.join(root, ...parts) : path.join(root, IMAGE_FOLDER, ...parts);
}

/**
 * Per condition, each image's label (-1 without a value) and how labels relate: which pairs are close
 * (share the value) and which are far (disjoint value sets; for heels, far apart in height).
 */
export interface ConditionLabels {
  readonly labelNames: readonly string[];
  readonly labels: Int32Array;
  isClose(a: number, b: number): boolean;
  isFar(a: number, b: number): boolean;
}

export interface HeelThresholds {
  /** Heel heights at most this many ranks apart are close. */
  readonly close: number;
  /** Heel heights at least this many ranks apart are far. */
  readonly far: number;
}

export function conditionLabels(
  condition: ZapposCondition,
  records: readonly (ShoeRecord | undefined)[],
  heel: HeelThresholds,
  file: string,
): ConditionLabels {
  const valuesOf = (r: ShoeRecord): readonly string[] =>
    condition === 'class'
      ? r.category
      : condition === 'closure'
        ? r.closure
        : condition === 'gender'
          ? r.gender
          : r.heelHeight;
  const keyOf = (r: ShoeRecord | undefined): string | undefined => {
    const values = r ? valuesOf(r) : [];
    return values.length ? [...values].sort().join(';') : undefined;
  };
  const keys = [...new Set(records.map(keyOf).filter((k): k is string => k !== undefined))];
  if (condition === 'heel') {
    // Ordered by height, so a label's rank is its height rank. Multi-valued heels rank by their lowest.
    // The values were checked when the metadata was read, so parsing cannot fail here.
    const height = (key: string): HeelRange =>
      key
        .split(';')
        .map((h) => parseHeelHeight(h, file, 0))
        .sort(compareHeel)[0]!;
    keys.sort((a, b) => compareHeel(height(a), height(b)) || (a < b ? -1 : a > b ? 1 : 0));
  } else keys.sort();
  const index = new Map(keys.map((k, i) => [k, i]));
  const labels = Int32Array.from(records, (r) => {
    const key = keyOf(r);
    return key === undefined ? -1 : index.get(key)!;
  });
  if (condition === 'heel') {
    return {
      labelNames: keys,
      labels,
      isClose: (a, b) => Math.abs(a - b) <= heel.close,
      isFar: (a, b) => Math.abs(a - b) >= heel.far,
    };
  }
  const sets = keys.map((k) => new Set(k.split(';')));
  return {
    labelNames: keys,
    labels,
    isClose: (a, b) => a === b,
    isFar: (a, b) => ![...sets[a]!].some((v) => sets[b]!.has(v)),
  };
}

export function tripletListName(condition: ZapposCondition, split: SplitName): string {
  return path.join('tripletlists', `${condition}_tripletlist_${split}.txt`);
}

/**
 * Reads one CSN triplet list. A line `a b c` (a closer to c than to b) becomes (anchor, positive,
 * negative) = (a, c, b). Indices refer to lines of filenames.json and must be below `count`.
 */
export function parseTripletList(
  content: string,
  file: string,
  count: number,
  filenamesFile: string,
): Int32Array {
  const lines = nonBlankLines(content);
  const out = new Int32Array(lines.length * 3);
  lines.forEach((line, t) => {
    const parts = fields(line.text);
    if (parts.length !== 3) {
      throw lineError(
        file,
        line.number,
        `expected three image indices "a b c" (a closer to c than to b), got ${parts.length} fields`,
      );
    }
    const [a, b, c] = parts.map((p) => {
      const value = parseIndex(p, file, line.number, 'an image index');
      if (value >= count) {
        throw lineError(
          file,
          line.number,
          `image index ${value} is out of range: ${filenamesFile} has ${count} entries (0..${count - 1})`,
        );
      }
      return value;
    }) as [number, number, number];
    out[3 * t] = a;
    out[3 * t + 1] = c;
    out[3 * t + 2] = b;
  });
  return out;
}

export interface GeneratorOptions {
  readonly seed: number;
  /** Triplets per condition and split. */
  readonly counts: Readonly<Record<SplitName, number>>;
  /** Share of the images in each split. */
  readonly fractions: Readonly<Record<SplitName, number>>;
  readonly heel: HeelThresholds;
  readonly conditions: readonly ZapposCondition[];
}

interface Catalogue {
  /** Image paths relative to ut-zap50k-images/. */
  readonly images: readonly string[];
  readonly records: readonly (ShoeRecord | undefined)[];
  readonly metadataFile: string;
}

async function readCatalogue(root: string, images: readonly string[] | undefined): Promise<Catalogue> {
  await requireDirectory(root, 'UT-Zappos50K root');
  const metadataFile = path.join(root, METADATA_FILE);
  const metadata = parseMetadata(await readText(metadataFile, 'UT-Zappos50K metadata'), metadataFile);
  const list = images ?? (await scanImages(root));
  return { images: list, records: list.map((p) => metadata.get(cidOfImage(p))), metadataFile };
}

/**
 * Writes filenames.json (paths relative to ut-zap50k-images/, as CSN ships it) and tripletlists/ for the
 * given conditions into `outDir`: images are split at random by `fractions`; within a split, each line is
 * (anchor, far, close) where anchor and close are close under the condition and far is far.
 */
export async function generateTripletLists(
  root: string,
  outDir: string,
  options: GeneratorOptions,
): Promise<void> {
  const catalogue = await readCatalogue(path.resolve(root), undefined);
  const { images, records, metadataFile } = catalogue;
  if (images.length === 0) throw dataError(`${path.join(root, IMAGE_FOLDER)}: no .jpg images found`);
  const order = new Rng(options.seed).shuffle(images.map((_, i) => i));
  const total = options.fractions.train + options.fractions.val + options.fractions.test;
  const members: Record<SplitName, number[]> = { train: [], val: [], test: [] };
  let start = 0;
  SPLIT_NAMES.forEach((split, s) => {
    const end =
      s === SPLIT_NAMES.length - 1
        ? order.length
        : start + Math.round((options.fractions[split] / total) * order.length);
    members[split] = order.slice(start, end).sort((a, b) => a - b);
    start = end;
  });
  await writeFileAtomic(path.join(outDir, 'filenames.json'), images.join('\n') + '\n');
  for (const condition of options.conditions) {
    const labels = conditionLabels(condition, records, options.heel, metadataFile);
    for (const split of SPLIT_NAMES) {
      const rng = Rng.derive(options.seed, `zappos-triplets/${condition}/${split}`);
      const lines = sampleTriplets(
        members[split],
        labels,
        options.counts[split],
        rng,
        `${condition}/${split}`,
      );
      await writeFileAtomic(
        path.join(outDir, tripletListName(condition, split)),
        lines.join('\n') + (lines.length ? '\n' : ''),
      );
    }
  }
}

function sampleTriplets(
  pool: readonly number[],
  condition: ConditionLabels,
  count: number,
  rng: Rng,
  what: string,
): string[] {
  const byLabel = new Map<number, number[]>();
  for (const i of pool) {
    const l = condition.labels[i]!;
    if (l >= 0) (byLabel.get(l) ?? byLabel.set(l, []).get(l)!).push(i);
  }
  const labels = [...byLabel.keys()].sort((a, b) => a - b);
  const gather = (test: (a: number, b: number) => boolean, l: number): number[] =>
    labels.filter((m) => test(l, m)).flatMap((m) => byLabel.get(m)!);
  const close = new Map(labels.map((l) => [l, gather(condition.isClose, l)]));
  const far = new Map(labels.map((l) => [l, gather(condition.isFar, l)]));
  const anchors = labels
    .filter((l) => close.get(l)!.length >= 2 && far.get(l)!.length >= 1)
    .flatMap((l) => byLabel.get(l)!);
  if (count > 0 && anchors.length === 0) {
    throw dataError(
      `cannot generate ${what} triplets: no image has both a close and a far partner in this split`,
    );
  }
  const lines: string[] = [];
  for (let t = 0; t < count; t++) {
    const a = rng.pick(anchors);
    const l = condition.labels[a]!;
    const closeSet = close.get(l)!;
    let c = a;
    while (c === a) c = rng.pick(closeSet);
    lines.push(`${a} ${rng.pick(far.get(l)!)} ${c}`);
  }
  return lines;
}

export interface ZapposOptions {
  readonly root: string;
  readonly conditions: readonly ZapposCondition[];
  /** `official`: read filenames.json and tripletlists/ from `protocolDir`; `generate`: write them first. */
  readonly triplets: 'official' | 'generate';
  /** Folder of filenames.json and tripletlists/ (default: the root). */
  readonly protocolDir?: string;
  readonly generator: Omit<GeneratorOptions, 'conditions' | 'seed'> & { readonly seed?: number };
  readonly fit: FitMode;
  readonly onBadImage: OnBadImage;
}

/** Bumped when generation changes, so lists generated by older code are not reused. */
const GENERATOR_VERSION = 'zappos-csn-triplets/2';
const NAME = 'ut-zappos50k';

async function generatedProtocolDir(
  options: ZapposOptions,
  root: string,
  seed: number,
  cacheDir: string,
): Promise<string> {
  const generator: GeneratorOptions = {
    ...options.generator,
    seed: options.generator.seed ?? seed,
    conditions: options.conditions,
  };
  // The metadata's size and time stand in for its content: editing it regenerates the lists.
  const metadata = await fs.stat(path.join(root, METADATA_FILE)).catch(() => undefined);
  const stamp = metadata ? [metadata.size, metadata.mtimeMs] : null;
  const hash = keyHash({ version: GENERATOR_VERSION, root, stamp, generator });
  const dir = path.join(cacheDir, `ut-zappos50k-triplets-${hash}`);
  const complete = await Promise.all(
    options.conditions.flatMap((c) =>
      SPLIT_NAMES.map((s) =>
        fs.stat(path.join(dir, tripletListName(c, s))).then(
          () => true,
          () => false,
        ),
      ),
    ),
  );
  // filenames.json is written first and each list atomically, so all lists present means a finished run.
  if (!complete.every(Boolean)) {
    await ensureWritableDirectory(cacheDir, 'the folder for generated CSN lists', CACHE_DIR_HINT);
    await generateTripletLists(root, dir, generator);
  }
  return dir;
}

const CONDITION_FACTOR: Record<ZapposCondition, string> = {
  class: 'Category',
  closure: 'Closure',
  gender: 'Gender',
  heel: 'HeelHeight',
};
const CONDITION_MEANING: Record<ZapposCondition, string> = {
  class: 'shoe type',
  closure: 'closure',
  gender: 'gender',
  heel: 'heel height',
};

function conditionTask(condition: ZapposCondition, labelNames: readonly string[]): TaskInfo {
  return {
    name: condition,
    description: `similar ${CONDITION_MEANING[condition]}`,
    factors: [CONDITION_FACTOR[condition]],
    labelNames,
  };
}

/**
 * Tasks and splits from the metadata, filenames.json and every triplet list (all read, and checked,
 * before any image is decoded); without the root folder, the tasks the options name and a note of what
 * is missing. With `triplets: generate`, the lists are generated into the cache first.
 */
export async function describeZappos(
  options: ZapposOptions,
  context: DatasetDescribeContext,
): Promise<DatasetDescription> {
  const root = path.resolve(options.root);
  const rootStat = await fs.stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    return {
      name: NAME,
      tasks: options.conditions.map((c) => conditionTask(c, [])),
      missing: `${root}: UT-Zappos50K root not found (expected a folder)`,
    };
  }
  const protocolDir =
    options.triplets === 'generate'
      ? await generatedProtocolDir(options, root, context.seed, context.cacheDir)
      : path.resolve(options.protocolDir ?? root);
  const filenamesFile = path.join(protocolDir, 'filenames.json');
  const filenames = nonBlankLines(
    await readText(filenamesFile, 'CSN image list (set triplets: generate to make one from the metadata)'),
  ).map((l) => l.text.trim());
  const catalogue = await readCatalogue(root, filenames);
  const unlabelled = catalogue.records.filter((r) => r === undefined).length;
  if (unlabelled > 0) {
    context.log.warn(
      `${filenamesFile}: ${unlabelled} image(s) have no row in ${catalogue.metadataFile}; they get no labels`,
    );
  }
  const conditions = options.conditions.map((c) =>
    conditionLabels(c, catalogue.records, options.generator.heel, catalogue.metadataFile),
  );
  // Every list of every split is read (and its errors reported) before any image is decoded.
  const lists = await Promise.all(
    SPLIT_NAMES.map((split) =>
      Promise.all(
        options.conditions.map(async (condition) => {
          const file = path.join(protocolDir, tripletListName(condition, split));
          const text = await readText(file, `CSN ${condition} triplet list`);
          return parseTripletList(text, file, filenames.length, filenamesFile);
        }),
      ),
    ),
  );
  const splits: Partial<Record<SplitName, SplitDescription>> = {};
  for (const [s, split] of SPLIT_NAMES.entries()) {
    const splitLists = lists[s]!;
    // The split's images are those its triplets use, renumbered from 0 in filenames.json order.
    const used = [...new Set(splitLists.flatMap((l) => Array.from(l)))].sort((a, b) => a - b);
    const local = new Map(used.map((g, i) => [g, i]));
    splits[split] = describeSplit({
      labels: conditions.map((c) => Int32Array.from(used, (g) => c.labels[g]!)),
      triplets: splitLists.map((l) => l.map((g) => local.get(g)!)),
      sources: used.map((g) => imageFile(root, filenames[g]!)),
      origin: path.join(protocolDir, 'tripletlists', `*_tripletlist_${split}.txt`),
    });
  }
  return {
    name: NAME,
    tasks: options.conditions.map((c, k) => conditionTask(c, conditions[k]!.labelNames)),
    splits: splits as Record<SplitName, SplitDescription>,
  };
}

export async function createZapposDataset(
  options: ZapposOptions,
  context: FileDatasetContext & DatasetDescribeContext & { described?: DatasetDescription },
): Promise<Dataset> {
  return openFileDataset(context.described ?? (await describeZappos(options, context)), options, context);
}
