/** Option pieces every dataset schema shares, so each is worded and validated once. */
import { z } from 'zod';
import { configRelativePath } from '../../src/config/paths.js';
import { ON_BAD_IMAGE } from '../../src/data/cache.js';
import { FIT_MODES } from '../../src/data/image.js';
import type { SplitName } from '../../src/kinds/dataset.js';

/**
 * Images per split of a generated dataset. Every split needs images (training and evaluation use all
 * three); the bound keeps a typo such as 1e9 from exhausting memory before anything is generated.
 */
export const MAX_GENERATED_PER_SPLIT = 1_000_000;
const count = z
  .number()
  .int()
  .positive('expected at least 1: every split needs images')
  .max(MAX_GENERATED_PER_SPLIT, `expected at most ${MAX_GENERATED_PER_SPLIT.toLocaleString('en')} per split`);

export function splitCounts(defaults: Record<SplitName, number>) {
  return z
    .strictObject({
      train: count.default(defaults.train),
      val: count.default(defaults.val),
      test: count.default(defaults.test),
    })
    .default(defaults);
}

/** The first name listed twice, for messages. */
function repeated(names: readonly string[]): string | undefined {
  return names.find((name, i) => names.indexOf(name) !== i);
}

function listedOnce<T extends string>(schema: z.ZodType<T>, what: string) {
  return z
    .array(schema)
    .min(1, `expected at least one ${what}`)
    .refine((names) => repeated(names) === undefined, {
      error: (issue) =>
        `${what} "${repeated(issue.input as string[])}" is listed twice; list each ${what} once`,
    });
}

export function taskList<T extends string>(names: readonly [T, ...T[]], defaults: readonly T[]) {
  return listedOnce(z.enum(names), 'task').default([...defaults]);
}

/** Names a dataset's files define (CelebA attributes), each listed once. */
export const uniqueNames = (what: string) => listedOnce(z.string().min(1), what);

/** A folder of data, relative to the config file that sets it. */
export const dataPath = (what: string) => configRelativePath(z.string().min(1, `expected ${what}`));

export const fit = (fallback: (typeof FIT_MODES)[number]) => z.enum(FIT_MODES).default(fallback);
export const onBadImage = z.enum(ON_BAD_IMAGE).default('fail');
