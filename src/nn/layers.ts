/** Functional layers over explicit variables: each module creates its variables in a `VariableStore`. */
import * as tf from '../tf.js';
import type { ForwardContext } from '../kinds/backbone.js';
import {
  batchNormInference,
  batchNormTraining,
  inferenceScaleShift,
  type InferenceStatistics,
} from './batch-norm.js';
import { conv2d, type Padding } from './conv.js';
import { initializers, type Initializer, type VariableStore } from './variables.js';

export type { Padding };

export interface Conv2dSpec {
  kernelSize: number;
  inChannels: number;
  outChannels: number;
  stride?: number;
  /** A number pads symmetrically, as PyTorch does (tfjs 'same' with stride 2 pads bottom/right only). */
  padding: Padding;
  init: Initializer;
}

/** Convolution without bias (every conv here is followed by BatchNorm). */
export class Conv2d {
  readonly kernel: tf.Variable;
  constructor(
    store: VariableStore,
    readonly spec: Conv2dSpec,
  ) {
    const k = spec.kernelSize;
    this.kernel = store.add('kernel', [k, k, spec.inChannels, spec.outChannels], spec.init);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return conv2d(x, this.kernel as tf.Tensor4D, this.spec.stride ?? 1, this.spec.padding);
  }

  /** relu?(conv(x, W·scale) + bias), scale and bias per output channel, in one fused convolution. */
  applyScaled(x: tf.Tensor4D, scale: tf.Tensor1D, bias: tf.Tensor1D, relu: boolean): tf.Tensor4D {
    const filter = tf.mul(this.kernel, scale) as tf.Tensor4D;
    const { stride = 1, padding: pad } = this.spec;
    return tf.fused.conv2d({ x, filter, strides: stride, pad, bias, activation: relu ? 'relu' : 'linear' });
  }
}

export interface BatchNormSpec {
  /** Moving statistics: moving = decay * moving + (1 - decay) * batch. */
  decay: number;
  epsilon: number;
  /** Trainable gamma; TF-slim's batch_norm leaves it out by default (scale=False). */
  scale: boolean;
}

/** PyTorch's BatchNorm defaults (momentum 0.1, ε 1e-5, affine), as torchvision and most released code use. */
export const TORCH_BATCH_NORM: BatchNormSpec = { decay: 0.9, epsilon: 1e-5, scale: true };

/** The variables of one BatchNorm layer (a backbone's, or one task's copy of it). */
export interface BatchNormVariables {
  readonly gamma: tf.Variable | undefined;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
}

/** Creates BatchNorm variables in `store`: γ 1 (when `scale`), β 0, moving mean 0, moving variance 1. */
export function batchNormVariables(
  store: VariableStore,
  channels: number,
  scale: boolean,
): BatchNormVariables {
  return {
    gamma: scale ? store.add('gamma', [channels], initializers.constant(1)) : undefined,
    beta: store.add('beta', [channels], initializers.constant(0)),
    movingMean: store.add('moving_mean', [channels], initializers.constant(0), { trainable: false }),
    movingVariance: store.add('moving_variance', [channels], initializers.constant(1), {
      trainable: false,
    }),
  };
}

/**
 * Batch normalisation of `x` over all axes but the last (channels) with the variables `v`, then ReLU when
 * `relu`: batch statistics, and their moving averages updated, in training; the moving averages otherwise.
 * The moving variance averages the batch's population variance, as TF-slim's (non-fused) batch_norm does;
 * PyTorch would use the unbiased one. One fused kernel each way where the backend has it (batch-norm.ts).
 */
export function batchNormalize<T extends tf.Tensor>(
  v: BatchNormVariables,
  spec: BatchNormSpec,
  x: T,
  training: boolean,
  relu = false,
): T {
  return tf.tidy(() => {
    const { gamma, beta, movingMean, movingVariance } = v;
    if (!training) {
      return batchNormInference(
        x,
        { gamma, beta, mean: movingMean, variance: movingVariance },
        spec.epsilon,
        relu,
      );
    }
    const { y, mean, variance } = batchNormTraining(x, gamma, beta, spec.epsilon, relu);
    const d = spec.decay;
    tf.tidy(() => {
      movingMean.assign(tf.add(tf.mul(movingMean, d), tf.mul(mean, 1 - d)));
      movingVariance.assign(tf.add(tf.mul(movingVariance, d), tf.mul(variance, 1 - d)));
    });
    return y;
  });
}

/**
 * A BatchNorm layer (`batchNormalize` with its own variables). A method may take it over through
 * `ForwardContext.batchNorm`.
 */
export class BatchNorm implements BatchNormVariables {
  readonly gamma: tf.Variable | undefined;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;

  constructor(
    store: VariableStore,
    channels: number,
    readonly spec: BatchNormSpec,
  ) {
    ({
      gamma: this.gamma,
      beta: this.beta,
      movingMean: this.movingMean,
      movingVariance: this.movingVariance,
    } = batchNormVariables(store, channels, spec.scale));
  }

  /**
   * Normalises x (and applies ReLU when `relu`: one fused kernel where the backend has it). A method that
   * set `context.batchNorm` normalises instead (`task-bn`).
   */
  apply<T extends tf.Tensor>(x: T, context: ForwardContext, relu = false): T {
    if (!context.batchNorm) return batchNormalize(this, this.spec, x, context.training, relu);
    return tf.tidy(() => {
      const y = context.batchNorm!(this, x) as T;
      return relu ? tf.relu(y) : y;
    });
  }

  /** What inference normalises with: the moving statistics and the learned scale and shift. */
  movingStatistics(): InferenceStatistics {
    return { gamma: this.gamma, beta: this.beta, mean: this.movingMean, variance: this.movingVariance };
  }
}

/** Conv → BatchNorm → optional ReLU, the unit every conv backbone here is built from. */
export class ConvBn {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;
  constructor(
    store: VariableStore,
    conv: Conv2dSpec,
    bn: BatchNormSpec,
    private readonly relu = true,
  ) {
    this.conv = new Conv2d(store.scope('conv'), conv);
    this.bn = new BatchNorm(store.scope('bn'), conv.outChannels, bn);
  }

  apply(x: tf.Tensor4D, context: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      if (context.training || context.batchNorm) return this.bn.apply(this.conv.apply(x), context, this.relu);
      // Inference: the normalisation folded into the convolution, one pass instead of two or more.
      const { scale, shift } = inferenceScaleShift(this.bn.movingStatistics(), this.bn.spec.epsilon);
      return this.conv.applyScaled(x, scale, shift, this.relu);
    });
  }
}

export interface DenseSpec {
  inFeatures: number;
  outFeatures: number;
  init: Initializer;
  /** Absent: no bias. */
  biasInit?: Initializer;
}

export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | undefined;
  constructor(store: VariableStore, spec: DenseSpec) {
    this.kernel = store.add('kernel', [spec.inFeatures, spec.outFeatures], spec.init);
    this.bias = spec.biasInit ? store.add('bias', [spec.outFeatures], spec.biasInit) : undefined;
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy((): tf.Tensor2D => {
      const y = tf.matMul<tf.Tensor2D>(x, this.kernel);
      return this.bias ? tf.add<tf.Tensor2D>(y, this.bias) : y;
    });
  }
}

export function maxPool(
  x: tf.Tensor4D,
  size: number,
  stride: number,
  padding: Padding = 'valid',
): tf.Tensor4D {
  return tf.maxPool(x, size, stride, padding);
}

export function globalAveragePool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]);
}

export function flatten(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [x.shape[0]!, -1]);
}

/** Spatial output size of a conv or pool along one axis (floor rounding, as TF and PyTorch). */
export function outputSize(input: number, kernel: number, stride: number, padding: Padding): number {
  if (padding === 'same') return Math.ceil(input / stride);
  const pad = padding === 'valid' ? 0 : padding;
  return Math.floor((input + 2 * pad - kernel) / stride) + 1;
}

/** A dense layer applied at every position of `x` `[N, ..., C]` (a 1×1 convolution, with its bias). */
export function pointwise(layer: Dense, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const c = x.shape[x.rank - 1]!;
    const y = layer.apply(tf.reshape(x, [-1, c]));
    return tf.reshape(y, [...x.shape.slice(0, -1), y.shape[1]]);
  });
}

/**
 * Max-pools `x` `[N, H, W, C]` onto an h×w grid with the window and stride that cover the input exactly:
 * stride ⌊H/h⌋ and window H − (h − 1)·stride per axis (2×2 stride 2 for a halving; 5×5 stride 2 for
 * 73 → 35; the identity when the sizes agree).
 */
export function poolToGrid(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [, inH, inW] = x.shape;
  if (inH === height && inW === width) return x;
  if (height > inH || width > inW) {
    throw new RangeError(`poolToGrid: cannot pool ${inH}×${inW} onto a larger ${height}×${width} grid`);
  }
  const strideH = Math.floor(inH / height);
  const strideW = Math.floor(inW / width);
  const windowH = inH - (height - 1) * strideH;
  const windowW = inW - (width - 1) * strideW;
  return tf.maxPool(x, [windowH, windowW], [strideH, strideW], 'valid');
}
