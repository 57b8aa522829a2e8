/**
 * How per-task losses combine into the objective that is differentiated. Every task's weight applies to its
 * mean triplet loss, so a task's weight does not depend on how many triplets it has in the batch, and the
 * sum is divided by the number of tasks with triplets: with weights of 1 (equal weighting) the objective is
 * the mean over tasks of each task's mean loss. Weighting strategies (plugins of kind `weighting`) give the
 * weights, or build the update from per-task gradients (hooks/weighting.ts).
 */

/**
 * Per-triplet factors `weights[t] / (count_t · K)` for triplets of tasks `taskIds`, where count_t is task t's
 * number of triplets and K the number of tasks that have some; their dot product with the per-triplet
 * losses is `Σ_t weights[t] · mean_t / K` (weights default to 1).
 */
export function tripletFactors(
  taskIds: Int32Array,
  taskCount: number,
  weights?: readonly number[],
): Float32Array {
  const counts = new Array<number>(taskCount).fill(0);
  taskIds.forEach((t) => (counts[t]! += 1));
  const tasks = counts.filter((c) => c > 0).length;
  return Float32Array.from(taskIds, (t) => (weights?.[t] ?? 1) / (counts[t]! * tasks));
}
