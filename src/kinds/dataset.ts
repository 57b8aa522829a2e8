/**
 * Kind `dataset`: images, tasks, per-task labels or triplets, and the retrieval protocol. Triplets are
 * always stored as (anchor, positive, negative) image indices: the positive is the one closer to the anchor.
 */
import type { Logger } from '../plugin/types.js';

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface TaskInfo {
  readonly name: string;
  readonly description: string;
  /** Names of the generating factors or attributes the task depends on (for relatedness analysis). */
  readonly factors: readonly string[];
  /** Human-readable label values, index = label id. */
  readonly labelNames: readonly string[];
  /**
   * Labels an anchor (and so its positive) may have when triplets are drawn from labels; absent: any.
   * CelebA's rule is `[1]`: anchor and positive have the attribute, the negative lacks it.
   */
  readonly anchorLabels?: readonly number[];
}

export interface DatasetSplit {
  /** Number of images in the split. */
  readonly size: number;
  /** Per task (dataset task order), the label of each image; -1 where the image has none for that task. */
  readonly labels: readonly Int32Array[];
  /**
   * Per task, fixed triplets as a flat `[a0, p0, n0, a1, ...]` array of split-local image indices, where the
   * protocol fixes them (CSN lists); otherwise undefined and samplers draw triplets from `labels`.
   */
  readonly triplets?: readonly (Int32Array | undefined)[];
  /** RGB uint8 pixels, `indices.length × H × W × 3`, row-major HWC, in the order given. */
  pixels(indices: readonly number[]): Promise<Uint8Array>;
  /** Where image `index` came from (file path or generator key), for messages and previews. */
  source(index: number): string;
  /** The decoded-image cache file behind `pixels`, when there is one. */
  readonly cacheFile?: string;
}

export interface Dataset {
  readonly name: string;
  readonly tasks: readonly TaskInfo[];
  /** `[height, width, 3]` of `pixels` output. */
  readonly imageShape: readonly [number, number, number];
  readonly splits: Readonly<Record<SplitName, DatasetSplit>>;
}

export interface DatasetCreateContext {
  /** Folder for decoded-image caches; datasets key their files by source and options hash. */
  readonly cacheDir: string;
  readonly seed: number;
  /** Image size the backbone takes, `[height, width]`; datasets resize to it. */
  readonly imageSize: readonly [number, number];
  readonly log: Logger;
}
