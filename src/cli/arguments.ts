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
