/**
 * Retrieval metrics on one query's ranked gallery. Ranking and scoring are separate so that the evaluator
 * can rank once for the largest k and score every k on prefixes of the same list.
 */

/** What a query scores at one cut-off k. */
export interface RetrievalScores {
  /**
   * AP@k = (1 / min(k, R)) · Σ_{i ≤ k, item i relevant} precision@i, where R is the number of relevant
   * gallery items. The min(k, R) denominator makes a perfect top-k list score 1 even when R > k.
   */
  readonly averagePrecision: number;
  /** Relevant items in the top k, over k. */
  readonly precision: number;
  /** Relevant items in the top k, over R. */
  readonly recall: number;
}

/**
 * Relevance flags (1 relevant, 0 not) of the `k` gallery items nearest to a query, nearest first.
 *
 * Ties in distance are broken pessimistically: among equal distances irrelevant items rank first, then by
 * gallery index. The score then cannot depend on gallery order, and collapsed embeddings (all distances
 * equal) get the worst score rather than whatever the order happens to give; this matches triplet accuracy,
 * where ties count as wrong. `exclude` (the query's own gallery position, or -1) is never ranked.
 */
export function rankTopK(
  distances: ArrayLike<number>,
  relevant: ArrayLike<number>,
  k: number,
  exclude = -1,
): Uint8Array {
  // Insertion into a sorted list of at most k entries: most items fail the comparison with the current
  // k-th entry at once, so this is near-linear in the gallery size for the small k retrieval uses.
  const order: number[] = [];
  const before = (i: number, j: number): boolean => {
    const di = distances[i]!;
    const dj = distances[j]!;
    if (di !== dj) return di < dj;
    const ri = relevant[i]!;
    const rj = relevant[j]!;
    if (ri !== rj) return ri < rj;
    return i < j;
  };
  for (let i = 0; i < distances.length; i++) {
    if (i === exclude) continue;
    if (order.length === k && !before(i, order[k - 1]!)) continue;
    let at = Math.min(order.length, k - 1);
    while (at > 0 && before(i, order[at - 1]!)) at--;
    order.splice(at, 0, i);
    if (order.length > k) order.pop();
  }
  return Uint8Array.from(order, (i) => (relevant[i]! ? 1 : 0));
}

/**
 * Scores a ranked relevance list (from `rankTopK`, nearest first) at cut-off `k`, for a query with
 * `relevantCount` relevant gallery items. A list shorter than k (a gallery smaller than k) counts its
 * missing places as irrelevant. `relevantCount` must be positive: queries without relevant items are
 * skipped by the caller, since no ranking can succeed or fail on them.
 */
export function retrievalAtK(ranked: ArrayLike<number>, relevantCount: number, k: number): RetrievalScores {
  if (!(relevantCount > 0))
    throw new RangeError(`retrievalAtK: relevantCount must be > 0, got ${relevantCount}`);
  if (!(k >= 1)) throw new RangeError(`retrievalAtK: k must be >= 1, got ${k}`);
  let hits = 0;
  let precisionSum = 0;
  const depth = Math.min(k, ranked.length);
  for (let i = 0; i < depth; i++) {
    if (ranked[i]) {
      hits += 1;
      precisionSum += hits / (i + 1);
    }
  }
  return {
    averagePrecision: precisionSum / Math.min(k, relevantCount),
    precision: hits / k,
    recall: hits / relevantCount,
  };
}
