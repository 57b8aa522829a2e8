/**
 * Kernels the project defines beyond tfjs's own (tfjs keeps its in kernel_names.ts): name, inputs, outputs
 * and attributes in one place, so that the ops that call them (src/nn/batch-norm.ts) and the backends that
 * implement them (src/backend/wasm-kernels/, with the native pack) agree. A backend without them gets the
 * ops' composition of tfjs ops instead.
 */

/**
 * Batch normalisation in training mode over every axis but the last, optionally followed by ReLU.
 * Inputs x [..., C], gamma [C], beta [C]; outputs y (x's shape), mean [C] and the biased variance [C].
 */
export const FusedBatchNorm = 'MtlzooFusedBatchNorm';

export interface FusedBatchNormAttrs {
  epsilon: number;
  relu: boolean;
}

/**
 * FusedBatchNorm's gradient through the batch statistics. Inputs dy, x, gamma, mean, variance, y (the
 * forward's outputs); outputs dx, dgamma, dbeta. Attributes as FusedBatchNorm's.
 */
export const FusedBatchNormGrad = 'MtlzooFusedBatchNormGrad';

/**
 * y = x·scale + shift per channel (the last axis), optionally followed by ReLU: batch normalisation in
 * inference mode. Inputs x [..., C], scale [C], shift [C]; output y.
 */
export const ScaleShift = 'MtlzooScaleShift';

export interface ScaleShiftAttrs {
  relu: boolean;
}

/**
 * One Adam step of one variable (tfjs's AdamOptimizer, src/backend/adam-update.ts). Inputs value, gradient,
 * m, v (the moment slots) and correction [1 − β1^t, 1 − β2^t]; outputs the new value, m and v.
 */
export const AdamUpdate = 'MtlzooAdamUpdate';

export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}
