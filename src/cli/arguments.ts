/** Parsers for command-line option values, with errors that name the flag. */
import { MtlzooError } from '../errors.js';

/** `--flag <n>` as a positive integer. */
export function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new MtlzooError('USAGE', `${flag}: expected a positive integer, got "${value}"`, 2);
    return n;
  };
}

/** `--seeds <list>`: comma-separated non-negative integers. */
export function seedList(value: string): number[] {
  const seeds = value.split(',').map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new MtlzooError(
      'USAGE',
      `--seeds: expected comma-separated non-negative integers, got "${value}"`,
      2,
    );
  }
  return seeds;
}
