/** Option pieces every dataset schema shares, so each is worded and validated once. */
import { z } from 'zod';
import { ON_BAD_IMAGE } from '../../src/data/cache.js';
import { FIT_MODES } from '../../src/data/image.js';
import type { SplitName } from '../../src/kinds/dataset.js';

const count = z.number().int().nonnegative();

export function splitCounts(defaults: Record<SplitName, number>) {
  return z
    .strictObject({
      train: count.default(defaults.train),
      val: count.default(defaults.val),
      test: count.default(defaults.test),
    })
    .default(defaults);
}

export function taskList<T extends string>(names: readonly [T, ...T[]], defaults: readonly T[]) {
  return z
    .array(z.enum(names))
    .min(1)
    .refine((tasks) => new Set(tasks).size === tasks.length, 'each task may appear once')
    .default([...defaults]);
}

export const fit = (fallback: (typeof FIT_MODES)[number]) => z.enum(FIT_MODES).default(fallback);
export const onBadImage = z.enum(ON_BAD_IMAGE).default('fail');
export const root = z.string().min(1, 'expected the folder the dataset was unpacked into');
