/**
 * Helpers for weighting strategies, built-in and third-party: the per-task gradient matrix, float64 solvers
 * for the task × task problems (min-norm point, simplex minimisation, Nash bargaining, eigen and linear
 * solves), a host Adam for learned weights, and seeded shuffles.
 */
export { HostAdam, softmax, softmaxVjp, type AdamOptions, type AdamState } from './adam.js';
export {
  dot,
  matVec,
  minimizeOnSimplex,
  minNormWeights,
  projectToSimplex,
  quadratic,
  solveLinear,
  symmetricEigen,
  type Matrix,
} from './linalg.js';
export { nashBargainingWeights, type NashSolution } from './nash.js';
export { shuffled } from './random.js';
export {
  readTaskGrams,
  stackTaskGradients,
  taskGradientMatrix,
  unstackUpdate,
  type Segment,
  type TaskGrams,
} from './task-gradients.js';
