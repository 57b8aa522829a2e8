/**
 * The dataset contract harness: `checkDatasetContract`. Creates the dataset twice from the same seed and
 * checks its tasks, each split's labels and fixed triplets, that no image sits in two splits, that every
 * task can be trained, that `pixels` returns images of the declared shape in the order asked, and that
 * both instances agree on everything (labels, triplets, sources, pixels).
 */
import { deepStrictEqual } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  SPLIT_NAMES,
  type Dataset,
  type DatasetSplit,
  type SplitName,
  type TaskInfo,
} from '../kinds/dataset.js';
import type { AnyPluginOf } from '../kinds/index.js';
import { createMemoryLogger } from '../util/logger.js';
import { check } from './assertions.js';
import { buildPlugin, checkedOptions } from './plugin.js';

export interface DatasetContractOptions {
  /** `[height, width]` the dataset is asked to produce (default `[16, 16]`). */
  imageSize?: readonly [number, number];
  seed?: number;
  /** Cache folder handed to the dataset (default: a fresh temporary folder, removed afterwards). */
  cacheDir?: string;
}

/** What the checked dataset holds, for tests to assert on. */
export interface DatasetContractReport {
  readonly name: string;
  readonly tasks: readonly string[];
  readonly sizes: Readonly<Record<SplitName, number>>;
}

function checkTask(label: string, task: TaskInfo): void {
  check(typeof task.name === 'string' && task.name.length > 0, () => `${label}: a task has no name`);
  const where = `${label}: task "${task.name}"`;
  check(typeof task.description === 'string', () => `${where}: description must be a string`);
  check(
    Array.isArray(task.factors) && task.factors.every((f) => typeof f === 'string'),
    () => `${where}: factors must be a list of names`,
  );
  check(
    Array.isArray(task.labelNames) && task.labelNames.every((l) => typeof l === 'string'),
    () => `${where}: labelNames must be a list of names`,
  );
  for (const anchor of task.anchorLabels ?? []) {
    check(
      Number.isInteger(anchor) &&
        anchor >= 0 &&
        (task.labelNames.length === 0 || anchor < task.labelNames.length),
      () => `${where}: anchor label ${anchor} is not a label`,
    );
  }
}

/** Labels in range, fixed triplets well formed; whether each task can yield a training triplet. */
function checkSplit(
  label: string,
  tasks: readonly TaskInfo[],
  name: SplitName,
  split: DatasetSplit,
): boolean[] {
  const where = `${label}: split ${name}`;
  check(Number.isInteger(split.size) && split.size >= 0, () => `${where}: size ${split.size}`);
  check(
    split.labels.length === tasks.length,
    () => `${where}: labels for ${split.labels.length} of ${tasks.length} tasks`,
  );
  check(
    split.triplets === undefined || split.triplets.length === tasks.length,
    () => `${where}: triplets for ${split.triplets?.length} of ${tasks.length} tasks`,
  );
  return tasks.map((task, t) => {
    const labels = split.labels[t]!;
    const classes = task.labelNames.length;
    check(
      labels instanceof Int32Array,
      () => `${where}: labels of task "${task.name}" must be an Int32Array`,
    );
    check(
      labels.length === split.size,
      () => `${where}: task "${task.name}" labels ${labels.length} of ${split.size} images`,
    );
    const counts = new Map<number, number>();
    labels.forEach((l, i) => {
      check(
        Number.isInteger(l) && l >= -1 && (classes === 0 || l < classes),
        () =>
          `${where}: image ${i} has label ${l} for task "${task.name}", expected -1 (none) or 0..${classes - 1}`,
      );
      if (l >= 0) counts.set(l, (counts.get(l) ?? 0) + 1);
    });
    const fixed = split.triplets?.[t];
    if (fixed !== undefined) {
      check(
        fixed instanceof Int32Array && fixed.length % 3 === 0,
        () => `${where}: triplets of task "${task.name}" must be an Int32Array of a, p, n index triples`,
      );
      for (let i = 0; i < fixed.length; i += 3) {
        const [a, p, n] = [fixed[i]!, fixed[i + 1]!, fixed[i + 2]!];
        check(
          [a, p, n].every((x) => Number.isInteger(x) && x >= 0 && x < split.size) && a !== p && a !== n,
          () =>
            `${where}: triplet ${i / 3} of task "${task.name}" is (${a}, ${p}, ${n}) in a split of ${split.size}`,
        );
      }
      return fixed.length > 0;
    }
    // Drawn from labels: an anchor label with two images, and another label for the negative.
    const anchors = task.anchorLabels ?? [...counts.keys()];
    return anchors.some((l) => (counts.get(l) ?? 0) >= 2) && counts.size >= 2;
  });
}

/** Indices whose pixels are read: the first, a middle and the last image. */
function sampled(size: number): number[] {
  return [...new Set([0, Math.floor(size / 2), size - 1])].filter((i) => i >= 0 && i < size);
}

async function checkPixels(label: string, dataset: Dataset, name: SplitName): Promise<Uint8Array[]> {
  const split = dataset.splits[name];
  const [h, w, c] = dataset.imageShape;
  const one = h * w * c;
  const indices = sampled(split.size);
  const images: Uint8Array[] = [];
  for (const i of indices) {
    const pixels = await split.pixels([i]);
    check(
      pixels instanceof Uint8Array && pixels.length === one,
      () => `${label}: split ${name} image ${i}: ${pixels.length} bytes, expected ${h}×${w}×${c}`,
    );
    images.push(pixels);
  }
  if (indices.length >= 2) {
    // Asked for in reverse, the images come back in that order.
    const reversed = [...indices].reverse();
    const together = await split.pixels(reversed);
    check(
      together.length === reversed.length * one,
      () => `${label}: split ${name}: ${together.length} bytes for ${reversed.length} images`,
    );
    reversed.forEach((index, k) => {
      const expected = images[indices.indexOf(index)]!;
      check(
        together.subarray(k * one, (k + 1) * one).every((v, j) => v === expected[j]),
        () =>
          `${label}: split ${name}: pixels([${reversed.join(', ')}]) does not return image ${index} at position ${k}`,
      );
    });
  }
  return images;
}

/**
 * Checks a dataset plugin: options validate, round-trip and pass `check`; tasks are named and described;
 * `imageShape` is the requested size with 3 channels; every split holds per-task Int32Array labels in range
 * (-1 for none), well-formed fixed triplets, and sources no other split holds; every task can yield a
 * training triplet; `pixels` returns the declared shape in the order asked; a second instance from the same
 * seed is identical.
 */
export async function checkDatasetContract(
  plugin: AnyPluginOf<'dataset'>,
  rawOptions: unknown,
  options: DatasetContractOptions = {},
): Promise<DatasetContractReport> {
  const label = `dataset ${plugin.name}`;
  const imageSize = options.imageSize ?? [16, 16];
  const ownCache =
    options.cacheDir === undefined ? mkdtempSync(path.join(tmpdir(), 'mtlzoo-contract-')) : undefined;
  const datasetOptions = checkedOptions('dataset', plugin, rawOptions);
  const create = () =>
    buildPlugin('dataset', plugin, datasetOptions, {
      cacheDir: options.cacheDir ?? ownCache!,
      seed: options.seed ?? 1,
      imageSize: [imageSize[0], imageSize[1]],
      log: createMemoryLogger(),
    });
  try {
    const dataset = await create();
    check(
      typeof dataset.name === 'string' && dataset.name.length > 0,
      () => `${label}: the dataset has no name`,
    );
    check(dataset.tasks.length > 0, () => `${label}: no tasks`);
    dataset.tasks.forEach((task) => checkTask(label, task));
    const names = dataset.tasks.map((t) => t.name);
    check(new Set(names).size === names.length, () => `${label}: repeated task names ${names.join(', ')}`);
    deepStrictEqual([...dataset.imageShape], [imageSize[0], imageSize[1], 3], `${label}: imageShape`);

    const owner = new Map<string, SplitName>();
    for (const name of SPLIT_NAMES) {
      const split = dataset.splits[name];
      check(split !== undefined, () => `${label}: no ${name} split`);
      const trainable = checkSplit(label, dataset.tasks, name, split);
      if (name === 'train') {
        check(split.size > 0, () => `${label}: the train split is empty`);
        trainable.forEach((ok, t) =>
          check(
            ok,
            () =>
              `${label}: task "${names[t]}" has no training triplet (no label with two images and another label, and no fixed triplets)`,
          ),
        );
      }
      for (let i = 0; i < split.size; i++) {
        const source = split.source(i);
        check(
          typeof source === 'string' && source.length > 0,
          () => `${label}: split ${name} image ${i} has no source`,
        );
        const earlier = owner.get(source);
        check(
          earlier === undefined || earlier === name,
          () => `${label}: ${source} is in both the ${earlier} and the ${name} split`,
        );
        owner.set(source, name);
      }
    }

    const twin = await create();
    deepStrictEqual(twin.tasks, dataset.tasks, `${label}: same seed, different tasks`);
    for (const name of SPLIT_NAMES) {
      const [a, b] = [dataset.splits[name], twin.splits[name]];
      deepStrictEqual(b.labels, a.labels, `${label}: same seed, different ${name} labels`);
      deepStrictEqual(b.triplets, a.triplets, `${label}: same seed, different ${name} triplets`);
      deepStrictEqual(
        Array.from({ length: b.size }, (_, i) => b.source(i)),
        Array.from({ length: a.size }, (_, i) => a.source(i)),
        `${label}: same seed, different ${name} images`,
      );
      deepStrictEqual(
        await checkPixels(label, twin, name),
        await checkPixels(label, dataset, name),
        `${label}: same seed, different ${name} pixels`,
      );
    }
    return {
      name: dataset.name,
      tasks: names,
      sizes: Object.fromEntries(SPLIT_NAMES.map((n) => [n, dataset.splits[n].size])) as Record<
        SplitName,
        number
      >,
    };
  } finally {
    if (ownCache) rmSync(ownCache, { recursive: true, force: true });
  }
}
