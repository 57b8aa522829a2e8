/**
 * tfjs's AdamOptimizer with the same slots and the same arithmetic, applied one variable at a time, and in
 * one kernel per variable where the active backend has the project's AdamUpdate (wasm with the native
 * pack). tfjs 4.22 updates every variable inside one tidy scope, so about ten weight-sized temporaries per
 * variable live until the last variable is done: resnet18's step peaked there, at 6× its weights. Here each
 * variable's temporaries go when it is updated. The optimizer's class, slot names and saved weights are
 * tfjs's own, so checkpoints are unchanged. Installed over `AdamOptimizer.prototype.applyGradients` (tfjs is
 * pinned to the tested 4.22.0); MTLZOO_FUSED_ADAM=0 keeps tfjs's own.
 */
import * as tf from '@tensorflow/tfjs';
import { AdamUpdate, type AdamUpdateAttrs } from './kernel-names.js';

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
  incrementIterations(): void;
}

type VariableGradients = tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[];

/** The moment slot i of `value`, created as tfjs creates it (zeros, not trainable) on first use. */
function slot(slots: Slot[], i: number, name: string, suffix: string, value: tf.Variable): tf.Variable {
  slots[i] ??= {
    originalName: `${name}/${suffix}`,
    variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
  };
  return slots[i].variable;
}

function applyGradients(this: AdamInternals, variableGradients: VariableGradients): void {
  const names = Array.isArray(variableGradients)
    ? variableGradients.map((v) => v.name)
    : Object.keys(variableGradients);
  const fused = tf.getKernel(AdamUpdate, tf.getBackend()) !== undefined;
  tf.tidy(() => {
    const correction1 = tf.sub(1, this.accBeta1);
    const correction2 = tf.sub(1, this.accBeta2);
    const correction = fused ? tf.stack([correction1, correction2]) : undefined;
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name]!;
      const m = slot(this.accumulatedFirstMoment, i, name, 'm', value);
      const v = slot(this.accumulatedSecondMoment, i, name, 'v', value);
      const gradient = Array.isArray(variableGradients)
        ? variableGradients[i]!.tensor
        : variableGradients[name];
      if (gradient == null) return;
      tf.tidy(() => {
        if (correction && value.dtype === 'float32') {
          const { learningRate, beta1, beta2, epsilon } = this;
          const attrs: AdamUpdateAttrs = { learningRate, beta1, beta2, epsilon };
          const inputs = { value, gradient, m, v, correction };
          const [w1, m1, v1] = tf.engine().runKernel(AdamUpdate, inputs, attrs as never) as tf.Tensor[];
          m.assign(m1!);
          v.assign(v1!);
          value.assign(w1!);
          return;
        }
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(gradient, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
        const mHat = tf.div(m1, correction1);
        const vHat = tf.div(v1, correction2);
        m.assign(m1);
        v.assign(v1);
        value.assign(
          tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), -this.learningRate), value),
        );
      });
    });
    this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
    this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
  });
  this.incrementIterations();
}

const prototype = tf.AdamOptimizer.prototype as unknown as { applyGradients: typeof applyGradients };

/** tfjs's own applyGradients, kept for the tests that compare with it. */
export const tfjsAdamApplyGradients = prototype.applyGradients;

/** Idempotent. */
export function installAdamUpdate(): void {
  if (process.env['MTLZOO_FUSED_ADAM'] !== '0') prototype.applyGradients = applyGradients;
}
