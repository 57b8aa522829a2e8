/**
 * Assembles a DatasetSplit from labels, optional fixed triplets and an image store, and removes images
 * left out by `onBadImage: skip` consistently from all three.
 */
import type { DatasetSplit, SplitName } from '../kinds/dataset.js';
import type { Logger } from '../plugin/types.js';
import { openImageCache, type CacheRequest, type OnBadImage } from './cache.js';
import { decodeFile, type FitMode, type ImageSize } from './image.js';
import type { ImageStore } from './store.js';

export interface SplitParts {
  readonly labels: readonly Int32Array[];
  readonly triplets?: readonly (Int32Array | undefined)[];
  /** Source of each image, index-aligned with the labels. */
  readonly sources: readonly string[];
}

export function makeSplit(parts: SplitParts, store: ImageStore): DatasetSplit {
  const size = parts.sources.length;
  if (store.count !== size) throw new Error(`image store holds ${store.count} images, split has ${size}`);
  for (const labels of parts.labels) {
    if (labels.length !== size) throw new Error(`labels cover ${labels.length} images, split has ${size}`);
  }
  return {
    size,
    labels: parts.labels,
    triplets: parts.triplets,
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
  parts: SplitParts,
  skipped: readonly number[],
  name: string,
  log: Logger,
): SplitParts {
  if (skipped.length === 0) return parts;
  const size = parts.sources.length;
  const newIndex = new Int32Array(size);
  let next = 0;
  let s = 0;
  for (let i = 0; i < size; i++) {
    if (skipped[s] === i) {
      newIndex[i] = -1;
      s++;
    } else newIndex[i] = next++;
  }
  const keep = (i: number): boolean => newIndex[i]! >= 0;
  const sources = parts.sources.filter((_, i) => keep(i));
  const labels = parts.labels.map((l) => l.filter((_, i) => keep(i)));
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
  return { sources, labels, triplets };
}

/** Opens (or builds) the split's decoded-image cache over `parts.sources` and assembles the split from it. */
export async function openCachedSplit(
  parts: SplitParts,
  request: Omit<CacheRequest, 'count' | 'source'>,
): Promise<DatasetSplit> {
  const cached = await openImageCache({
    ...request,
    count: parts.sources.length,
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

/** A split whose images are the files `parts.sources`, decoded once into the cache `<name>-<split>`. */
export function openFileSplit(
  name: string,
  split: SplitName,
  parts: SplitParts,
  decoding: FileDecoding,
  context: FileDatasetContext,
): Promise<DatasetSplit> {
  return openCachedSplit(parts, {
    cacheDir: context.cacheDir,
    name: `${name}-${split}`,
    key: { sources: parts.sources, fit: decoding.fit },
    size: context.size,
    produce: (i) => decodeFile(parts.sources[i]!, context.size, decoding.fit),
    onBadImage: decoding.onBadImage,
    log: context.log,
  });
}
