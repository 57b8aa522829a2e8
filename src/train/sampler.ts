/**
 * Multi-task triplet sampler. A batch holds, for every task, a fixed number of triplets (the authors'
 * equal-share scheme, or shares from per-task weights). Each step's draws depend only on (seed, step), so a
 * run resumed at step k draws exactly the batches an uninterrupted run draws from step k on.
 */
import { z } from 'zod';
import { MtlzooError } from '../errors.js';
import type { DatasetSplit, TaskInfo } from '../kinds/dataset.js';
import { Rng } from '../util/random.js';

/** Image indices of triplets, one entry per triplet in each array. */
export interface TripletArrays {
  readonly anchor: Int32Array;
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

/** Triplets of one batch, grouped by task in task order: triplet i belongs to task `taskIds[i]`. */
export interface TripletBatch extends TripletArrays {
  readonly taskIds: Int32Array;
}

export const samplerOptionsSchema = z.strictObject({
  /** Triplets per task per batch; with weights, the batch holds this many per task on average. */
  tripletsPerTask: z.number().int().positive().default(32),
  /** Relative per-task shares of the batch (dataset task order); absent means equal shares. */
  weights: z.array(z.number().nonnegative()).optional(),
});
export type SamplerOptions = z.output<typeof samplerOptionsSchema>;

/**
 * Splits `total` into integer shares proportional to `weights` (largest remainder, ties to the lower task
 * index), so the batch size is exactly `total` whatever the weights.
 */
export function tripletCounts(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new MtlzooError('USAGE', 'sampler weights must contain a positive value');
  const exact = weights.map((w) => (total * w) / sum);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((e, t) => ({ t, r: e - Math.floor(e) }))
    .sort((x, y) => y.r - x.r || x.t - y.t);
  for (const { t } of byRemainder) {
    if (left === 0) break;
    counts[t]! += 1;
    left -= 1;
  }
  return counts;
}

/**
 * Draws triplets of one task from its labels: anchor and positive share a label, the negative's differs,
 * images labelled -1 never take part. Anchors are uniform over the images whose label occurs at least
 * twice; positives and negatives uniform over the admissible images.
 */
export class LabelTriplets {
  /** Labelled images grouped by label. */
  private readonly order: Int32Array;
  /** Per position in `order`: start and end of its label's group. */
  private readonly groupStart: Int32Array;
  private readonly groupEnd: Int32Array;
  /** Positions in `order` that can be anchors (their group has a second member). */
  private readonly anchors: Int32Array;

  /** `anchorLabels`: labels an anchor may have (absent: any); see TaskInfo.anchorLabels. */
  constructor(labels: Int32Array, taskName: string, anchorLabels?: readonly number[]) {
    const byLabel = new Map<number, number[]>();
    labels.forEach((label, image) => {
      if (label === -1) return;
      const group = byLabel.get(label);
      if (group) group.push(image);
      else byLabel.set(label, [image]);
    });
    if (byLabel.size < 2) {
      throw new MtlzooError(
        'DATA_INVALID',
        `task "${taskName}" has ${byLabel.size} distinct label(s) in this split; triplets need at least 2`,
      );
    }
    const order: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const anchors: number[] = [];
    for (const label of [...byLabel.keys()].sort((a, b) => a - b)) {
      const group = byLabel.get(label)!;
      const start = order.length;
      for (const image of group) {
        if (group.length > 1 && (!anchorLabels || anchorLabels.includes(label))) anchors.push(order.length);
        order.push(image);
        starts.push(start);
        ends.push(start + group.length);
      }
    }
    if (anchors.length === 0) {
      throw new MtlzooError(
        'DATA_INVALID',
        `task "${taskName}" has no ${anchorLabels ? `anchor label (${anchorLabels.join(', ')}) ` : 'label '}shared by two images in this split; triplets need a positive pair`,
      );
    }
    this.order = Int32Array.from(order);
    this.groupStart = Int32Array.from(starts);
    this.groupEnd = Int32Array.from(ends);
    this.anchors = Int32Array.from(anchors);
  }

  /** Writes `count` triplets into the arrays from `offset` on. */
  draw(rng: Rng, count: number, out: TripletArrays, offset: number): void {
    const size = this.order.length;
    for (let i = offset; i < offset + count; i++) {
      const a = this.anchors[rng.int(this.anchors.length)]!;
      const start = this.groupStart[a]!;
      const end = this.groupEnd[a]!;
      // Skip the anchor itself in its group, and the whole group among negatives.
      let p = start + rng.int(end - start - 1);
      if (p >= a) p += 1;
      let n = rng.int(size - (end - start));
      if (n >= start) n += end - start;
      out.anchor[i] = this.order[a]!;
      out.positive[i] = this.order[p]!;
      out.negative[i] = this.order[n]!;
    }
  }
}

/**
 * Walks a protocol's fixed triplet list in a shuffled order per epoch (seeded by (seed, task, epoch)), so
 * every triplet is used once per epoch and any position of the walk can be reached without replaying it.
 */
class FixedTriplets {
  private epoch = -1;
  private permutation = new Int32Array(0);

  constructor(
    private readonly flat: Int32Array,
    private readonly seed: number,
    private readonly task: number,
  ) {}

  get length(): number {
    return this.flat.length / 3;
  }

  /** Writes the triplets at walk positions [start, start + count) into the arrays from `offset` on. */
  take(start: number, count: number, out: TripletArrays, offset: number): void {
    for (let i = 0; i < count; i++) {
      const position = start + i;
      const epoch = Math.floor(position / this.length);
      if (epoch !== this.epoch) {
        const rng = Rng.derive(this.seed, `sampler/fixed/${this.task}/${epoch}`);
        this.permutation = Int32Array.from(rng.shuffle(Array.from({ length: this.length }, (_, j) => j)));
        this.epoch = epoch;
      }
      const t = this.permutation[position - epoch * this.length]! * 3;
      out.anchor[offset + i] = this.flat[t]!;
      out.positive[offset + i] = this.flat[t + 1]!;
      out.negative[offset + i] = this.flat[t + 2]!;
    }
  }
}

/** Triplets of each task in every batch: equal shares, or shares in proportion to `weights`. */
export function batchCounts(options: SamplerOptions, taskCount: number): number[] {
  return options.weights
    ? tripletCounts(options.tripletsPerTask * taskCount, options.weights)
    : new Array<number>(taskCount).fill(options.tripletsPerTask);
}

/** Dataset indices of the tasks that have triplets in every batch. */
export function batchTasks(options: SamplerOptions, taskCount: number): number[] {
  return batchCounts(options, taskCount).flatMap((count, t) => (count > 0 ? [t] : []));
}

export class TripletSampler {
  /** Triplets of each task in every batch. */
  readonly counts: readonly number[];
  readonly batchSize: number;
  private readonly sources: readonly (LabelTriplets | FixedTriplets)[];

  /**
   * `tasks` in dataset task order (names for messages, anchor rules for drawing). Fixed lists of the split are used where present;
   * other tasks draw from labels. Throws `DATA_INVALID` naming the task that cannot yield triplets.
   */
  constructor(
    split: DatasetSplit,
    tasks: readonly Pick<TaskInfo, 'name' | 'anchorLabels'>[],
    private readonly seed: number,
    options: SamplerOptions,
  ) {
    const taskCount = tasks.length;
    if (split.labels.length !== taskCount) {
      throw new MtlzooError(
        'DATA_INVALID',
        `split has labels for ${split.labels.length} tasks, expected ${taskCount}`,
      );
    }
    if (options.weights && options.weights.length !== taskCount) {
      throw new MtlzooError(
        'USAGE',
        `sampler weights has ${options.weights.length} entries for ${taskCount} tasks`,
      );
    }
    this.counts = batchCounts(options, taskCount);
    this.batchSize = this.counts.reduce((a, b) => a + b, 0);
    this.sources = tasks.map(({ name, anchorLabels }, t) => {
      const fixed = split.triplets?.[t];
      if (!fixed) return new LabelTriplets(split.labels[t]!, name, anchorLabels);
      if (fixed.length === 0 || fixed.length % 3 !== 0) {
        throw new MtlzooError(
          'DATA_INVALID',
          `task "${name}" has a fixed triplet list of ${fixed.length} values`,
        );
      }
      return new FixedTriplets(fixed, seed, t);
    });
  }

  /** The batch of training step `step` (0-based); depends only on the seed, the options and `step`. */
  batch(step: number): TripletBatch {
    const n = this.batchSize;
    const out: TripletBatch = {
      taskIds: new Int32Array(n),
      anchor: new Int32Array(n),
      positive: new Int32Array(n),
      negative: new Int32Array(n),
    };
    let offset = 0;
    this.sources.forEach((source, t) => {
      const count = this.counts[t]!;
      out.taskIds.fill(t, offset, offset + count);
      if (source instanceof FixedTriplets) source.take(step * count, count, out, offset);
      else source.draw(Rng.derive(this.seed, `sampler/labels/${t}/${step}`), count, out, offset);
      offset += count;
    });
    return out;
  }

  /** Batches from step `from` on, without end. */
  *batches(from = 0): Generator<TripletBatch> {
    for (let step = from; ; step++) yield this.batch(step);
  }
}

/**
 * What the trainer decodes and embeds for a batch. An image is decoded once (`images`), but embedded once
 * per task it appears under, since a method's embedding depends on the task: `samples` are the distinct
 * (image, task) pairs, and each triplet member points at its sample.
 */
export interface UniqueImages {
  /** Distinct image indices, in order of first appearance. */
  readonly images: Int32Array;
  /** Per sample: position of its image in `images`. */
  readonly sampleImage: Int32Array;
  /** Per sample: its task (the `taskIds` to embed the samples with). */
  readonly sampleTask: Int32Array;
  /** Per triplet: positions of anchor, positive and negative in the samples. */
  readonly anchor: Int32Array;
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

export function uniqueImages(batch: TripletBatch): UniqueImages {
  const imagePosition = new Map<number, number>();
  const samplePosition = new Map<string, number>();
  const sampleImage: number[] = [];
  const sampleTask: number[] = [];
  const locate = (image: number, task: number): number => {
    const key = `${task}:${image}`;
    let sample = samplePosition.get(key);
    if (sample === undefined) {
      let position = imagePosition.get(image);
      if (position === undefined) {
        position = imagePosition.size;
        imagePosition.set(image, position);
      }
      sample = sampleImage.length;
      samplePosition.set(key, sample);
      sampleImage.push(position);
      sampleTask.push(task);
    }
    return sample;
  };
  const n = batch.taskIds.length;
  const anchor = new Int32Array(n);
  const positive = new Int32Array(n);
  const negative = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const task = batch.taskIds[i]!;
    anchor[i] = locate(batch.anchor[i]!, task);
    positive[i] = locate(batch.positive[i]!, task);
    negative[i] = locate(batch.negative[i]!, task);
  }
  return {
    images: Int32Array.from(imagePosition.keys()),
    sampleImage: Int32Array.from(sampleImage),
    sampleTask: Int32Array.from(sampleTask),
    anchor,
    positive,
    negative,
  };
}
