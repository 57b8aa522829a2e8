/**
 * Upper bounds on config numbers that size memory. Without them a typo (`1e9`) passes validation and
 * then exhausts memory or throws a RangeError deep in the engine; with them `config check` names the
 * bound. Each is far above what the built-in configs use.
 */
import { z } from 'zod';

/** Square image side of a backbone: a 1024-px batch of 64 images is already 800 MB of float32 input. */
export const MAX_INPUT_SIZE = 1024;
/** Channels of a conv stage, and embedding widths. */
export const MAX_WIDTH = 4096;
/** Triplets per task in one training batch (three images each go through the network at once). */
export const MAX_BATCH_TRIPLETS_PER_TASK = 4096;
/** Triplets per task an evaluator or probe draws from labels (index arrays and distances held at once). */
export const MAX_DRAWN_TRIPLETS_PER_TASK = 1_000_000;

const limit = (max: number, what: string) => `expected at most ${max.toLocaleString('en')} ${what}`;

/** An integer from `min` to `max`, whose messages name both bounds. */
export function boundedInt(min: number, max: number, what: string) {
  return z
    .number()
    .int()
    .min(min, `expected ${min.toLocaleString('en')} or more ${what}`)
    .max(max, limit(max, what));
}

export const inputSizeOption = (min: number) => boundedInt(min, MAX_INPUT_SIZE, 'pixels');
export const widthOption = () => boundedInt(1, MAX_WIDTH, 'channels');
