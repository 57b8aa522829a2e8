/** Parsers for command-line option values, with errors that name the flag. */
import { MtlzooError } from '../errors.js';

/** `--flag <n>` as a positive integer, at most `max` when given. */
export function positiveInt(flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0 || n > max) {
      const expected = max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from 1 to ${max}`;
      throw new MtlzooError('USAGE', `${flag}: expected ${expected}, got "${value}"`, 2);
    }
    return n;
  };
}

/** `--flag <x>` as one of `choices`. */
export function oneOf<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new MtlzooError('USAGE', `${flag}: expected one of ${choices.join(', ')}, got "${value}"`, 2);
    }
    return value as T;
  };
}

/** A number in (0, 1]. */
export function fraction(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0 && n <= 1))
      throw new MtlzooError('USAGE', `${flag}: expected a number in (0, 1], got "${value}"`, 2);
    return n;
  };
}

/** Repeatable option: collects every value. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
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
