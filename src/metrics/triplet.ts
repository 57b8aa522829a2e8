/** Triplet accuracy: how often the positive is strictly nearer the anchor than the negative. */

/**
 * Fraction of triplets with d(a, p) < d(a, n), given those distances per triplet. Ties count as wrong: an
 * embedding that cannot tell positive from negative (e.g. a collapsed one) must not score 0.5 or 1.
 */
export function tripletAccuracy(
  positiveDistances: ArrayLike<number>,
  negativeDistances: ArrayLike<number>,
): number {
  const correct = tripletOutcomes(positiveDistances, negativeDistances);
  let sum = 0;
  for (const c of correct) sum += c;
  return sum / correct.length;
}

/** Per triplet, 1 when d(a, p) < d(a, n) and 0 otherwise (ties wrong): the samples triplet accuracy averages. */
export function tripletOutcomes(
  positiveDistances: ArrayLike<number>,
  negativeDistances: ArrayLike<number>,
): Uint8Array {
  const n = positiveDistances.length;
  if (negativeDistances.length !== n) {
    throw new RangeError(`tripletAccuracy: ${n} positive but ${negativeDistances.length} negative distances`);
  }
  if (n === 0) throw new RangeError('tripletAccuracy: no triplets');
  return Uint8Array.from({ length: n }, (_, i) => (positiveDistances[i]! < negativeDistances[i]! ? 1 : 0));
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
