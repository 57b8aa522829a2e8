/**
 * The Nash bargaining weights of Nash-MTL (Navon et al. 2022): α > 0 with `(G α)_i = 1 / α_i` for the task
 * gradients' Gram matrix G. That is the stationary point of the strictly convex
 * `½ αᵀGα − Σ log α_i` on α > 0, found here by damped Newton steps (the official code approximates the same
 * point with 20 concave-convex iterations of a conic solver).
 */
import { dot, matVec, solveLinear } from './linalg.js';

export interface NashSolution {
  readonly alpha: number[];
  /** Whether the condition holds to the tolerance; otherwise `alpha` is the start (no bargaining point, e.g. opposite gradients). */
  readonly converged: boolean;
}

function objective(gram: readonly (readonly number[])[], alpha: readonly number[]): number {
  return 0.5 * dot(alpha, matVec(gram, alpha)) - alpha.reduce((s, a) => s + Math.log(a), 0);
}

/** Solves `α_i (Gα)_i = 1` from `start` (all > 0). */
export function nashBargainingWeights(
  gram: readonly (readonly number[])[],
  start: readonly number[],
  { tolerance = 1e-10, maxIterations = 100 } = {},
): NashSolution {
  let alpha = [...start];
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const g = matVec(gram, alpha);
    const gradient = g.map((v, i) => v - 1 / alpha[i]!);
    // The condition α_i (Gα)_i = 1, checked directly (scale-free).
    if (Math.max(...alpha.map((a, i) => Math.abs(a * g[i]! - 1))) < tolerance) {
      return { alpha, converged: true };
    }
    const hessian = gram.map((row, i) => row.map((v, j) => v + (i === j ? 1 / alpha[i]! ** 2 : 0)));
    let direction: number[];
    try {
      direction = solveLinear(
        hessian,
        gradient.map((v) => -v),
      );
    } catch {
      break;
    }
    // Largest step that keeps α > 0, then backtrack until the objective decreases enough (Armijo).
    let step = 1;
    for (let i = 0; i < alpha.length; i++) {
      if (direction[i]! < 0) step = Math.min(step, (-0.99 * alpha[i]!) / direction[i]!);
    }
    const current = objective(gram, alpha);
    const slope = dot(gradient, direction);
    let next = alpha.map((a, i) => a + step * direction[i]!);
    while (objective(gram, next) > current + 1e-4 * step * slope && step > 1e-12) {
      step /= 2;
      next = alpha.map((a, i) => a + step * direction[i]!);
    }
    if (next.some((a) => !Number.isFinite(a) || a > 1e12)) break;
    alpha = next;
  }
  return { alpha: [...start], converged: false };
}
