/**
 * Small dense linear algebra in float64 for the weighting strategies' task × task problems (a handful to a
 * few dozen tasks): linear solves, symmetric eigendecomposition, projection onto the probability simplex.
 */

export type Matrix = number[][];

/** `A x = b` by Gaussian elimination with partial pivoting; throws on a (numerically) singular `A`. */
export function solveLinear(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  const scale = Math.max(...a.flat().map(Math.abs), Number.MIN_VALUE);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (Math.abs(m[pivot]![col]!) <= scale * 1e-13) throw new Error('singular matrix');
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const row = m[col]!;
    for (let r = col + 1; r < n; r++) {
      const factor = m[r]![col]! / row[col]!;
      if (factor === 0) continue;
      for (let c = col; c <= n; c++) m[r]![c]! -= factor * row[c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = m[r]![n]!;
    for (let c = r + 1; c < n; c++) sum -= m[r]![c]! * x[c]!;
    x[r] = sum / m[r]![r]!;
  }
  return x;
}

/**
 * Eigenvalues (descending) and eigenvectors (columns of `vectors`) of a symmetric matrix, by cyclic Jacobi
 * rotations until the off-diagonal mass is negligible.
 */
export function symmetricEigen(a: readonly (readonly number[])[]): { values: number[]; vectors: Matrix } {
  const n = a.length;
  const m = a.map((row) => [...row]);
  const v: Matrix = a.map((_, i) => a.map((__, j) => (i === j ? 1 : 0)));
  const total = m.flat().reduce((s, x) => s + x * x, 0);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i]![j]! ** 2;
    if (off <= total * 1e-30 || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p]![q]!;
        if (apq === 0) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k]![p]!;
          const mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p]![k]!;
          const mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = m.map((row, i) => i).sort((i, j) => m[j]![j]! - m[i]![i]!);
  return {
    values: order.map((i) => m[i]![i]!),
    vectors: v.map((row) => order.map((i) => row[i]!)),
  };
}

/** Euclidean projection of `y` onto the probability simplex {x ≥ 0, Σx = 1} (sort-based, Held et al.). */
export function projectToSimplex(y: readonly number[]): number[] {
  const sorted = [...y].sort((a, b) => b - a);
  let sum = 0;
  let threshold = (y.reduce((a, b) => a + b, 0) - 1) / y.length;
  for (let i = 0; i < sorted.length; i++) {
    sum += sorted[i]!;
    const t = (sum - 1) / (i + 1);
    if (i + 1 === sorted.length || t >= sorted[i + 1]!) {
      threshold = t;
      break;
    }
  }
  return y.map((v) => Math.max(v - threshold, 0));
}

export function matVec(a: readonly (readonly number[])[], x: readonly number[]): number[] {
  return a.map((row) => row.reduce((s, v, j) => s + v * x[j]!, 0));
}

export function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((s, v, i) => s + v * b[i]!, 0);
}

/** `xᵀ A x`. */
export function quadratic(a: readonly (readonly number[])[], x: readonly number[]): number {
  return dot(x, matVec(a, x));
}

/**
 * Minimises a smooth convex `f` over the probability simplex by accelerated projected gradient (FISTA with
 * backtracking and adaptive restart), from `start`. It stops once the objective has not improved for 20
 * iterations (near the optimum f is flat to rounding, so x moves only by noise), or an iteration moves
 * less than `tolerance` (L1); it returns the best point seen.
 */
export function minimizeOnSimplex(
  f: (x: readonly number[]) => number,
  gradient: (x: readonly number[]) => number[],
  start: readonly number[],
  { tolerance = 1e-13, maxIterations = 5000 } = {},
): number[] {
  let x = projectToSimplex(start);
  let best = { x, value: f(x) };
  let stale = 0;
  let y = x;
  let momentum = 1;
  let step = 1;
  for (let iteration = 0; iteration < maxIterations && stale < 20; iteration++) {
    const fy = f(y);
    const gy = gradient(y);
    let next: number[];
    // Backtracking: shrink the step until the quadratic upper bound holds at the projected point.
    for (;;) {
      next = projectToSimplex(y.map((v, i) => v - step * gy[i]!));
      const d = next.map((v, i) => v - y[i]!);
      if (f(next) <= fy + dot(gy, d) + dot(d, d) / (2 * step) + 1e-15 * Math.abs(fy) || step < 1e-30) break;
      step /= 2;
    }
    const moved = next.reduce((s, v, i) => s + Math.abs(v - x[i]!), 0);
    const value = f(next);
    if (value < best.value - 1e-15 * Math.abs(best.value)) {
      best = { x: next, value };
      stale = 0;
    } else stale += 1;
    // Restart the momentum when it would increase the objective.
    const restart = value > f(x);
    const nextMomentum = restart ? 1 : (1 + Math.sqrt(1 + 4 * momentum * momentum)) / 2;
    y = restart ? next : next.map((v, i) => v + ((momentum - 1) / nextMomentum) * (v - x[i]!));
    x = next;
    momentum = nextMomentum;
    step *= 1.5;
    if (moved < tolerance) break;
  }
  return best.x;
}

/** Weights `x` on the simplex minimising ‖Σ x_i g_i‖² given the Gram matrix of the g_i (MGDA's problem). */
export function minNormWeights(gram: readonly (readonly number[])[]): number[] {
  const n = gram.length;
  return minimizeOnSimplex(
    (x) => quadratic(gram, x),
    (x) => matVec(gram, x).map((v) => 2 * v),
    new Array<number>(n).fill(1 / n),
  );
}
