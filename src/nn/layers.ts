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

/**
 * Batch normalisation over all axes but the last (channels). The moving variance averages the batch's
 * population variance, as TF-slim's (non-fused) batch_norm does; PyTorch would use the unbiased one.
 */
export class BatchNorm {
  readonly gamma: tf.Variable | undefined;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;

  constructor(
    store: VariableStore,
    channels: number,
    readonly spec: BatchNormSpec,
  ) {
    this.gamma = spec.scale ? store.add('gamma', [channels], initializers.constant(1)) : undefined;
    this.beta = store.add('beta', [channels], initializers.constant(0));
    this.movingMean = store.add('moving_mean', [channels], initializers.constant(0), { trainable: false });
    this.movingVariance = store.add('moving_variance', [channels], initializers.constant(1), {
      trainable: false,
    });
  }

  /** Normalises x (and applies ReLU when `relu`: one fused kernel where the backend has it). */
  apply<T extends tf.Tensor>(x: T, context: ForwardContext, relu = false): T {
    return tf.tidy(() => {
      const { epsilon } = this.spec;
      if (!context.training) {
        const stats = {
          gamma: this.gamma,
          beta: this.beta,
          mean: this.movingMean,
          variance: this.movingVariance,
        };
        return batchNormInference(x, stats, epsilon, relu);
      }
      const { y, mean, variance } = batchNormTraining(x, this.gamma, this.beta, epsilon, relu);
      this.updateMoving(mean, variance);
      return y;
    });
  }

  /** What inference normalises with: the moving statistics and the learned scale and shift. */
  movingStatistics(): InferenceStatistics {
    return { gamma: this.gamma, beta: this.beta, mean: this.movingMean, variance: this.movingVariance };
  }

  private updateMoving(mean: tf.Tensor, variance: tf.Tensor): void {
    const d = this.spec.decay;
    tf.tidy(() => {
      this.movingMean.assign(tf.add(tf.mul(this.movingMean, d), tf.mul(mean, 1 - d)));
      this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, d), tf.mul(variance, 1 - d)));
    });
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
      if (context.training) return this.bn.apply(this.conv.apply(x), context, this.relu);
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
