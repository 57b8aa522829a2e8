/**
 * Assembles DatasetSplits from split descriptions (labels, optional fixed triplets, sources) and an image
 * store, and removes images left out by `onBadImage: skip` consistently from all three.
 */
import type {
  Dataset,
  DatasetDescription,
  DatasetSplit,
  SplitDescription,
  SplitName,
} from '../kinds/dataset.js';
import { SPLIT_NAMES } from '../kinds/dataset.js';
import type { Logger } from '../plugin/types.js';
import { openImageCache, type CacheRequest, type OnBadImage } from './cache.js';
import { checkSplits } from './check.js';
import { dataError, fileStamps } from './files.js';
import { decodeFile, type FitMode, type ImageSize } from './image.js';
import type { ImageStore } from './store.js';

/** A split description from its parts; the size is the number of sources. */
export function describeSplit(parts: Omit<SplitDescription, 'size'>): SplitDescription {
  return { ...parts, size: parts.sources.length };
}

/** The description of an opened dataset (for datasets without `describe`). */
export function describeOpened(dataset: Dataset): DatasetDescription {
  const splits = Object.fromEntries(
    SPLIT_NAMES.map((name) => {
      const split = dataset.splits[name];
      const sources = Array.from({ length: split.size }, (_, i) => split.source(i));
      const { labels, triplets, origin } = split;
      return [name, describeSplit({ labels, triplets, sources, origin })];
    }),
  ) as Record<SplitName, SplitDescription>;
  return { name: dataset.name, tasks: dataset.tasks, splits };
}

export function makeSplit(parts: SplitDescription, store: ImageStore): DatasetSplit {
  const { size } = parts;
  if (parts.sources.length !== size)
    throw new Error(`split has ${size} images but ${parts.sources.length} sources`);
  if (store.count !== size) throw new Error(`image store holds ${store.count} images, split has ${size}`);
  for (const labels of parts.labels) {
    if (labels.length !== size) throw new Error(`labels cover ${labels.length} images, split has ${size}`);
  }
  return {
    size,
    labels: parts.labels,
    triplets: parts.triplets,
    origin: parts.origin,
    pixels: (indices) => store.read(indices),
    source: (index) => {
      const source = parts.sources[index];
      if (source === undefined) throw new RangeError(`image index ${index} is outside 0..${size - 1}`);
      return source;
    },
    cacheFile: store.file,
  };
}

/**
 * Drops the images at `skipped` (ascending source indices): their labels, and every fixed triplet that
 * uses one of them, renumbering the rest. Dropped triplets are counted in a warning.
 */
export function withoutImages(
  parts: SplitDescription,
  skipped: readonly number[],
  name: string,
  log: Logger,
): SplitDescription {
  if (skipped.length === 0) return parts;
  const newIndex = new Int32Array(parts.size);
  let next = 0;
  let s = 0;
  for (let i = 0; i < parts.size; i++) {
    if (skipped[s] === i) {
      newIndex[i] = -1;
      s++;
    } else newIndex[i] = next++;
  }
  const keep = (i: number): boolean => newIndex[i]! >= 0;
  let dropped = 0;
  const triplets = parts.triplets?.map((list) => {
    if (!list) return undefined;
    const out: number[] = [];
    for (let t = 0; t < list.length; t += 3) {
      const a = newIndex[list[t]!]!;
      const p = newIndex[list[t + 1]!]!;
      const n = newIndex[list[t + 2]!]!;
      if (a < 0 || p < 0 || n < 0) dropped++;
      else out.push(a, p, n);
    }
    return Int32Array.from(out);
  });
  if (dropped > 0) log.warn(`${name}: dropped ${dropped} triplet(s) that use skipped images`);
  return describeSplit({
    sources: parts.sources.filter((_, i) => keep(i)),
    labels: parts.labels.map((l) => l.filter((_, i) => keep(i))),
    triplets,
    origin: parts.origin,
  });
}

/** Opens (or builds) the split's decoded-image cache over `parts.sources` and assembles the split from it. */
export async function openCachedSplit(
  parts: SplitDescription,
  request: Omit<CacheRequest, 'count' | 'source'>,
): Promise<DatasetSplit> {
  const cached = await openImageCache({
    ...request,
    count: parts.size,
    source: (i) => parts.sources[i]!,
  });
  return makeSplit(withoutImages(parts, cached.skipped, request.name, request.log), cached.store);
}

/** Decoding choices of a dataset whose images are files. */
export interface FileDecoding {
  readonly fit: FitMode;
  readonly onBadImage: OnBadImage;
}

/** Where a file-based dataset caches its decoded images, and at what size. */
export interface FileDatasetContext {
  readonly size: ImageSize;
  readonly cacheDir: string;
  readonly log: Logger;
}

/**
 * A split whose images are the files `parts.sources`, decoded once into the cache `<name>-<split>`. The
 * key holds each file's size and modification time, so a repaired or replaced image is decoded again.
 */
export async function openFileSplit(
  name: string,
  split: SplitName,
  parts: SplitDescription,
  decoding: FileDecoding,
  context: FileDatasetContext,
): Promise<DatasetSplit> {
  return openCachedSplit(parts, {
    cacheDir: context.cacheDir,
    name: `${name}-${split}`,
    key: { sources: parts.sources, stamps: await fileStamps(parts.sources), fit: decoding.fit },
    size: context.size,
    produce: (i) => decodeFile(parts.sources[i]!, context.size, decoding.fit),
    onBadImage: decoding.onBadImage,
    log: context.log,
  });
}

/**
 * Opens a described file-based dataset: every split is checked (images, tasks coverable) before the first
 * image is decoded; then each split's cache is opened or built, and the splits are checked again, since
 * skipped images may have emptied one.
 */
export async function openFileDataset(
  described: DatasetDescription,
  decoding: FileDecoding,
  context: FileDatasetContext,
): Promise<Dataset> {
  const { name, tasks } = described;
  if (!described.splits) throw dataError(described.missing ?? `${name}: the data was not found`);
  checkSplits(name, tasks, described.splits);
  const splits: Partial<Record<SplitName, DatasetSplit>> = {};
  for (const split of SPLIT_NAMES) {
    splits[split] = await openFileSplit(name, split, described.splits[split], decoding, context);
  }
  const opened = splits as Record<SplitName, DatasetSplit>;
  checkSplits(name, tasks, opened);
  return { name, tasks, imageShape: [context.size[0], context.size[1], 3], splits: opened };
}
