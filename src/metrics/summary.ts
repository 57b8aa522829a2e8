/** Summaries across tasks and seeds: Δm against a baseline, and mean ± spread. */

/**
 * Δm (Maninis et al. 2019, as LibMTL reports it): the mean over metrics j of
 * (−1)^{l_j} · (M_m,j − M_b,j) / M_b,j, with l_j = 1 when lower is better. Positive means the method beats
 * the baseline on average. Returned as a fraction; multiply by 100 for the usual percent.
 */
export function deltaM(
  method: readonly number[],
  baseline: readonly number[],
  higherIsBetter: readonly boolean[],
): number {
  const n = method.length;
  if (baseline.length !== n || higherIsBetter.length !== n) {
    throw new RangeError(
      `deltaM: ${n} method values, ${baseline.length} baseline values, ${higherIsBetter.length} directions`,
    );
  }
  if (n === 0) throw new RangeError('deltaM: no metrics');
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const b = baseline[j]!;
    if (b === 0) throw new RangeError(`deltaM: baseline value ${j} is 0, relative change undefined`);
    const sign = higherIsBetter[j] ? 1 : -1;
    sum += (sign * (method[j]! - b)) / b;
  }
  return sum / n;
}

export interface Spread {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1 denominator); 0 for a single value. */
  readonly std: number;
  readonly min: number;
  readonly max: number;
}

/** Mean and spread of repeated measurements (e.g. one metric over seeds). */
export function meanAndSpread(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) throw new RangeError('meanAndSpread: no values');
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return {
    n,
    mean,
    std: n > 1 ? Math.sqrt(squares / (n - 1)) : 0,
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** `mean ± std` with `digits` decimals, the spread omitted for a single value. */
export function formatSpread(spread: Spread, digits = 3): string {
  const mean = spread.mean.toFixed(digits);
  return spread.n > 1 ? `${mean} ± ${spread.std.toFixed(digits)}` : mean;
}
