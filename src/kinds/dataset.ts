/**
 * Kind `dataset`: images, tasks, per-task labels or triplets, and the retrieval protocol. Triplets are
 * always stored as (anchor, positive, negative) image indices: the positive is the one closer to the anchor.
 *
 * A dataset plugin has `create` (open the data, decoding images into a cache if need be) and may have
 * `describe` (tasks, and each split's labels and triplets, from the options and list files alone). The
 * kernel describes before it creates, so a data set's list files are checked before any image is decoded.
 */
import type { Logger } from '../plugin/types.js';

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface TaskInfo {
  readonly name: string;
  readonly description: string;
  /** Names of the generating factors or attributes the task depends on (for relatedness analysis). */
  readonly factors: readonly string[];
  /**
   * Human-readable label values, index = label id. Empty in a description made without the data, for
   * tasks whose labels only the data names (UT-Zappos50K's value sets).
   */
  readonly labelNames: readonly string[];
  /**
   * Labels an anchor (and so its positive) may have when triplets are drawn from labels; absent: any.
   * CelebA's rule is `[1]`: anchor and positive have the attribute, the negative lacks it.
   */
  readonly anchorLabels?: readonly number[];
}

/** What samplers, evaluators, the split checks and `data inspect` read of a split. */
export interface SplitLabels {
  /** Number of images in the split. */
  readonly size: number;
  /** Per task (dataset task order), the label of each image; -1 where the image has none for that task. */
  readonly labels: readonly Int32Array[];
  /**
   * Per task, fixed triplets as a flat `[a0, p0, n0, a1, ...]` array of split-local image indices, where the
   * protocol fixes them (CSN lists); otherwise undefined and samplers draw triplets from `labels`.
   */
  readonly triplets?: readonly (Int32Array | undefined)[];
  /** What defines the split's membership (a list file, an option), so messages can point at it. */
  readonly origin?: string;
}

export interface DatasetSplit extends SplitLabels {
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

/** A split as its list files (or generator) give it, before any image is decoded. */
export interface SplitDescription extends SplitLabels {
  /** Source of each image (file path or generator key), index-aligned with the labels. */
  readonly sources: readonly string[];
}

/** A dataset as `describe` reports it: no pixels, nothing decoded. */
export interface DatasetDescription {
  readonly name: string;
  readonly tasks: readonly TaskInfo[];
  /**
   * Per split, the images, labels and fixed triplets the list files give (images that `onBadImage: skip`
   * would leave out are still counted). Absent when the data is not there; `missing` then says what was
   * looked for, and `tasks` come from the options alone.
   */
  readonly splits?: Readonly<Record<SplitName, SplitDescription>>;
  readonly missing?: string;
}

export interface DatasetDescribeContext {
  /** Folder for caches (decoded images, generated lists); datasets key their files by source and options. */
  readonly cacheDir: string;
  readonly seed: number;
  readonly log: Logger;
}

export interface DatasetCreateContext extends DatasetDescribeContext {
  /** Image size the backbone takes, `[height, width]`; datasets resize to it. */
  readonly imageSize: readonly [number, number];
  /**
   * What `describe` returned for the same options, when the caller already has it: a dataset may open
   * from it instead of reading its list files again.
   */
  readonly described?: DatasetDescription;
}

/** Members a dataset plugin may have besides those every plugin has. */
export interface DatasetPluginMembers<Options> {
  /**
   * Tasks from the options and the list files' headers, and (when the data is present) every split's
   * images, labels and fixed triplets, without decoding an image. `mtlzoo params` needs only the tasks
   * and so works with no data present; `data inspect` and the kernel's pre-training checks use the splits.
   * Without it, callers create the dataset to learn the same.
   */
  describe?(options: Options, context: DatasetDescribeContext): Promise<DatasetDescription>;
}
