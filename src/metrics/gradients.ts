/**
 * Numerical core of the gradient-consistency and task-relatedness analyses: geometry of flattened vectors
 * (per-task gradients of shared parameters, or per-task modulation vectors). Everything goes through the
 * Gram matrix of dot products, because Gram matrices of separate layers add up to the Gram matrix of the
 * concatenated parameters: a probe computes one per layer and sums them for "all shared parameters".
 * Sums accumulate in float64.
 */

export type Vector = ArrayLike<number>;
export type Matrix = number[][];

export function dot(a: Vector, b: Vector): number {
  if (a.length !== b.length) throw new RangeError(`dot: lengths ${a.length} and ${b.length} differ`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/**
 * Cosine from a dot product and two squared norms, clamped to [−1, 1]. NaN when either vector is zero: a
 * task whose gradient vanished (every triplet already beyond the margin) has no direction to compare.
 */
function cosineOf(ab: number, aa: number, bb: number): number {
  if (aa === 0 || bb === 0) return NaN;
  // sqrt(aa·bb) rather than sqrt(aa)·sqrt(bb): identical vectors then give exactly 1.
  return Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb)));
}

export function cosine(a: Vector, b: Vector): number {
  return cosineOf(dot(a, b), dot(a, a), dot(b, b));
}

/** Angle in degrees for a cosine; NaN stays NaN. */
export function cosineToDegrees(c: number): number {
  return (Math.acos(Math.max(-1, Math.min(1, c))) * 180) / Math.PI;
}

export function angleDegrees(a: Vector, b: Vector): number {
  return cosineToDegrees(cosine(a, b));
}

/** Symmetric T × T matrix of dot products between the given vectors. */
export function gramMatrix(vectors: readonly Vector[]): Matrix {
  const t = vectors.length;
  const gram: Matrix = Array.from({ length: t }, () => new Array<number>(t).fill(0));
  for (let i = 0; i < t; i++) {
    for (let j = i; j < t; j++) {
      const v = dot(vectors[i]!, vectors[j]!);
      gram[i]![j] = v;
      gram[j]![i] = v;
    }
  }
  return gram;
}

/** Element-wise sum of equally sized matrices (Gram matrices of layers → of their concatenation). */
export function sumMatrices(matrices: readonly Matrix[]): Matrix {
  const first = matrices[0];
  if (!first) throw new RangeError('sumMatrices: no matrices');
  return first.map((row, i) =>
    row.map((_, j) => {
      let sum = 0;
      for (const m of matrices) sum += m[i]![j]!;
      return sum;
    }),
  );
}

/** Cosine matrix from a Gram matrix; the diagonal is 1 for every non-zero vector, NaN for a zero one. */
export function cosineFromGram(gram: Matrix): Matrix {
  return gram.map((row, i) => row.map((ab, j) => cosineOf(ab, gram[i]![i]!, gram[j]![j]!)));
}

/** Pairwise task × task cosine matrix of flattened vectors. */
export function cosineMatrix(vectors: readonly Vector[]): Matrix {
  return cosineFromGram(gramMatrix(vectors));
}

/**
 * Mean angle in degrees over the distinct pairs (i < j) of a cosine matrix. Pairs with an undefined cosine
 * (a zero vector) are left out; NaN when no pair is defined (fewer than two tasks, or all zero).
 */
export function meanOffDiagonalAngle(cosines: Matrix): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < cosines.length; i++) {
    for (let j = i + 1; j < cosines.length; j++) {
      const c = cosines[i]![j]!;
      if (Number.isNaN(c)) continue;
      sum += cosineToDegrees(c);
      count += 1;
    }
  }
  return count > 0 ? sum / count : NaN;
}

export interface RelatednessOptions {
  /**
   * Compare ReLU(M[t]) instead of M[t]. The vector module scales features by ReLU(M[t]), so negative
   * entries all act as 0 and should compare as such; the matrix form uses M[t] as it is.
   */
  readonly rectify?: boolean;
}

/**
 * Task relatedness from one stage's modulation parameters, laid out `[T, ...]` row-major (a `[T, C]` vector
 * module or a `[T, C, C]` matrix module, as a variable's data): the cosine similarity between the tasks'
 * flattened rows. Symmetric with ones on the diagonal (a task is identical to itself even if its row is
 * zero); NaN off the diagonal where a row is zero.
 */
export function relatednessMatrix(
  modulation: Vector,
  taskCount: number,
  options: RelatednessOptions = {},
): Matrix {
  if (!(taskCount >= 1) || modulation.length % taskCount !== 0) {
    throw new RangeError(
      `relatednessMatrix: ${modulation.length} values do not split into ${taskCount} tasks`,
    );
  }
  const width = modulation.length / taskCount;
  const rows = Array.from({ length: taskCount }, (_, t) => {
    const row = new Float64Array(width);
    for (let c = 0; c < width; c++) {
      const v = modulation[t * width + c]!;
      row[c] = options.rectify ? Math.max(0, v) : v;
    }
    return row;
  });
  const matrix = cosineMatrix(rows);
  for (let t = 0; t < taskCount; t++) matrix[t]![t] = 1;
  return matrix;
}
