/** Triplet accuracy: how often the positive is strictly nearer the anchor than the negative. */

/**
 * Fraction of triplets with d(a, p) < d(a, n), given those distances per triplet. Ties count as wrong: an
 * embedding that cannot tell positive from negative (e.g. a collapsed one) must not score 0.5 or 1.
 */
export function tripletAccuracy(
  positiveDistances: ArrayLike<number>,
  negativeDistances: ArrayLike<number>,
): number {
  const n = positiveDistances.length;
  if (negativeDistances.length !== n) {
    throw new RangeError(`tripletAccuracy: ${n} positive but ${negativeDistances.length} negative distances`);
  }
  if (n === 0) throw new RangeError('tripletAccuracy: no triplets');
  let correct = 0;
  for (let i = 0; i < n; i++) if (positiveDistances[i]! < negativeDistances[i]!) correct += 1;
  return correct / n;
}

/**
 * Squared Euclidean distance between row `i` of `a` and row `j` of `b`, both row-major with `dim` columns.
 * Accumulates in float64.
 */
export function squaredDistance(
  a: ArrayLike<number>,
  i: number,
  b: ArrayLike<number>,
  j: number,
  dim: number,
): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) {
    const diff = a[i * dim + d]! - b[j * dim + d]!;
    sum += diff * diff;
  }
  return sum;
}
