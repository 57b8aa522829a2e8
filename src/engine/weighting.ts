/**
 * How per-task losses combine into the objective: the second MTL axis, orthogonal to the method (which
 * shares parameters) — LibMTL's "weighting". Equal weighting averages each task's mean triplet loss, so a
 * task's weight does not depend on how many triplets it has in the batch. Gradient-based strategies
 * (PCGrad, GradNorm) act on per-task gradients and will hook in beside this.
 */

/** Per-triplet factors whose weighted sum is the mean over tasks of each task's mean loss. */
export function taskLossWeights(tripletsPerTask: readonly number[]): Float32Array {
  const tasks = tripletsPerTask.filter((c) => c > 0).length;
  const weights: number[] = [];
  for (const count of tripletsPerTask) for (let i = 0; i < count; i++) weights.push(1 / (count * tasks));
  return Float32Array.from(weights);
}
