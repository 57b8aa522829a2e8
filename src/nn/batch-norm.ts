/**
 * Batch normalisation, with an optional ReLU after it, as one kernel where the active backend has one (the
 * native pack gives wasm FusedBatchNorm, its gradient and ScaleShift: src/backend/kernel-names.ts), and as
 * a composition of tfjs ops elsewhere. Both differentiate through the batch statistics in training mode.
 */
import {
  FusedBatchNorm,
  FusedBatchNormGrad,
  ScaleShift,
  type FusedBatchNormAttrs,
  type ScaleShiftAttrs,
} from '../backend/kernel-names.js';
import * as tf from '../tf.js';

const onActiveBackend = (kernelName: string) => tf.getKernel(kernelName, tf.getBackend()) !== undefined;

let gradientsRegistered = false;

/** The gradients of the project's kernels, on every backend that has the kernels. Idempotent. */
function registerGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: FusedBatchNorm,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [true, true, true],
    // Only y is differentiated: mean and variance feed the moving averages, which no loss depends on.
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, y, mean, variance] = saved as tf.Tensor[];
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const inputs = { dy, x: x!, gamma: gamma!, mean: mean!, variance: variance!, y: y! };
      const [dx, dgamma, dbeta] = tf.engine().runKernel(FusedBatchNormGrad, inputs, attrs) as tf.Tensor[];
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
  tf.registerGradient({
    kernelName: ScaleShift,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, scale, y] = saved as tf.Tensor[];
      const g = (attrs as unknown as ScaleShiftAttrs).relu
        ? tf.mul(dy as tf.Tensor, tf.step(y!))
        : (dy as tf.Tensor);
      const leading = Array.from({ length: x!.rank - 1 }, (_, i) => i);
      return {
        x: () => tf.mul(g, scale!),
        scale: () => tf.sum(tf.mul(g, x!), leading),
        shift: () => tf.sum(g, leading),
      };
    },
  });
}

export interface BatchStatistics<T extends tf.Tensor> {
  y: T;
  /** Per-channel mean and biased variance of x, for the moving averages. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Training mode: y = (x − mean)/√(variance + epsilon)·gamma + beta over x's own statistics per channel (the
 * last axis), then ReLU when `relu`. Without gamma the scale is 1.
 */
export function batchNormTraining<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor | undefined,
  beta: tf.Tensor,
  epsilon: number,
  relu: boolean,
): BatchStatistics<T> {
  if (x.dtype === 'float32' && onActiveBackend(FusedBatchNorm)) {
    registerGradients();
    const attrs: FusedBatchNormAttrs = { epsilon, relu };
    const inputs = { x, gamma: gamma ?? tf.onesLike(beta), beta };
    const [y, mean, variance] = tf.engine().runKernel(FusedBatchNorm, inputs, attrs as never) as tf.Tensor[];
    return { y: y as T, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const mean = tf.mean(x, axes) as tf.Tensor1D;
  // tf.moments, but sharing x − mean with the normalisation: one full-size Sub (and its gradient) fewer.
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axes) as tf.Tensor1D;
  // Written out rather than tf.batchNorm so gradients flow through the batch statistics (tfjs's
  // FusedBatchNorm gradient is ~10 full-size ops). gamma is folded into the per-channel factor so that one
  // full-size Mul runs, not two.
  let scale = tf.rsqrt(tf.add(variance, epsilon));
  if (gamma) scale = tf.mul(scale, gamma);
  const y = tf.add(tf.mul(centred, scale), beta);
  return { y: (relu ? tf.relu(y) : y) as T, mean, variance };
}

export interface InferenceStatistics {
  gamma: tf.Tensor | undefined;
  beta: tf.Tensor;
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/** Inference-mode normalisation as y = x·scale + shift per channel. */
export function inferenceScaleShift(
  stats: InferenceStatistics,
  epsilon: number,
): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  let scale = tf.rsqrt(tf.add(stats.variance, epsilon));
  if (stats.gamma) scale = tf.mul(scale, stats.gamma);
  return { scale: scale as tf.Tensor1D, shift: tf.sub(stats.beta, tf.mul(stats.mean, scale)) as tf.Tensor1D };
}

/** Inference mode: the same with given (moving) statistics, as one per-channel scale and shift. */
export function batchNormInference<T extends tf.Tensor>(
  x: T,
  stats: InferenceStatistics,
  epsilon: number,
  relu: boolean,
): T {
  const { scale, shift } = inferenceScaleShift(stats, epsilon);
  if (x.dtype === 'float32' && onActiveBackend(ScaleShift)) {
    registerGradients();
    const attrs: ScaleShiftAttrs = { relu };
    return tf.engine().runKernel(ScaleShift, { x, scale, shift }, attrs as never) as T;
  }
  const y = tf.add(tf.mul(x, scale), shift);
  return (relu ? tf.relu(y) : y) as T;
}
