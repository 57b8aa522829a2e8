import { strict as assert } from 'node:assert';
import * as tf from '../src/tf.js';
import {
  createOptimizer,
  learningRateAt,
  optimizerSchema,
  scheduleSchema,
  type OptimizerConfig,
} from '../src/train/optimizers.js';

const start = [1, -2, 3];
const gradient = [0.5, -1, 2];

/** Applies one update with the fixed gradient to a fresh variable and returns its new value. */
function stepOnce(config: OptimizerConfig, steps = 1, lrAfterFirst?: number): Float32Array {
  const optimizer = createOptimizer(config);
  const x = tf.variable(tf.tensor1d(start), true, `x-${config.type}-${steps}-${lrAfterFirst ?? 0}`);
  const g = tf.tensor1d(gradient);
  for (let s = 0; s < steps; s++) {
    if (s === 1 && lrAfterFirst !== undefined) optimizer.setLearningRate(lrAfterFirst);
    optimizer.applyGradients({ [x.name]: g });
  }
  const value = x.dataSync() as Float32Array;
  x.dispose();
  g.dispose();
  optimizer.dispose();
  return value;
}

function assertClose(actual: Float32Array, expected: number[], what: string): void {
  expected.forEach((e, i) =>
    assert.ok(Math.abs(actual[i]! - e) < 1e-5, `${what}[${i}]: ${actual[i]} != ${e}`),
  );
}

describe('optimizers', () => {
  it('fill defaults and reject unknown keys', () => {
    assert.deepEqual(optimizerSchema.parse(undefined), {
      type: 'adagrad',
      lr: 0.1,
      initialAccumulatorValue: 0.1,
    });
    assert.deepEqual(optimizerSchema.parse({ type: 'adam' }), {
      type: 'adam',
      lr: 0.001,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
    });
    assert.deepEqual(optimizerSchema.parse({ type: 'sgd', lr: 0.5 }), {
      type: 'sgd',
      lr: 0.5,
      momentum: 0.9,
      nesterov: false,
    });
    assert.throws(() => optimizerSchema.parse({ type: 'adam', momentum: 0.9 }));
    assert.throws(() => optimizerSchema.parse({ type: 'rmsprop' }));
    assert.deepEqual(scheduleSchema.parse(undefined), { type: 'constant', warmupSteps: 0 });
    assert.throws(() => scheduleSchema.parse({ type: 'step' }), 'step needs `every`');
  });

  it('adagrad: x − lr·g / sqrt(a0 + g²)', () => {
    const x = stepOnce({ type: 'adagrad', lr: 0.1, initialAccumulatorValue: 0.1 });
    assertClose(
      x,
      start.map((v, i) => v - (0.1 * gradient[i]!) / Math.sqrt(0.1 + gradient[i]! ** 2)),
      'adagrad',
    );
  });

  it('adam: first step moves each weight by lr·sign(g) (bias-corrected)', () => {
    const lr = 0.01;
    const eps = 1e-8;
    const x = stepOnce({ type: 'adam', lr, beta1: 0.9, beta2: 0.999, epsilon: eps });
    // m̂ = g, v̂ = g² after one step.
    assertClose(
      x,
      start.map((v, i) => v - (lr * gradient[i]!) / (Math.abs(gradient[i]!) + eps)),
      'adam',
    );
  });

  it('sgd with momentum, plain and Nesterov, over two steps', () => {
    const [lr, mu] = [0.1, 0.9];
    // v1 = g, v2 = μg + g; plain: x − lr(v1 + v2); Nesterov: x − lr(g + μv1) − lr(g + μv2).
    const plain = stepOnce({ type: 'sgd', lr, momentum: mu, nesterov: false }, 2);
    assertClose(
      plain,
      start.map((v, i) => v - lr * (gradient[i]! + (mu + 1) * gradient[i]!)),
      'momentum',
    );
    const nesterov = stepOnce({ type: 'sgd', lr, momentum: mu, nesterov: true }, 2);
    const g = gradient;
    assertClose(
      nesterov,
      start.map((v, i) => v - lr * (g[i]! + mu * g[i]!) - lr * (g[i]! + mu * (mu + 1) * g[i]!)),
      'nesterov',
    );
  });

  it('takes a new learning rate between steps', () => {
    // SGD without momentum: x − 0.1g − 0.02g.
    const sgd = stepOnce({ type: 'sgd', lr: 0.1, momentum: 0, nesterov: false }, 2, 0.02);
    assertClose(
      sgd,
      start.map((v, i) => v - 0.12 * gradient[i]!),
      'sgd',
    );
    // Adagrad: accumulators a0 + g², a0 + 2g².
    const adagrad = stepOnce({ type: 'adagrad', lr: 0.1, initialAccumulatorValue: 0.1 }, 2, 0.05);
    assertClose(
      adagrad,
      start.map((v, i) => {
        const g = gradient[i]!;
        return v - (0.1 * g) / Math.sqrt(0.1 + g * g) - (0.05 * g) / Math.sqrt(0.1 + 2 * g * g);
      }),
      'adagrad',
    );
    // Adam: the second step with equal gradients again has m̂ = g, v̂ = g².
    const adam = stepOnce({ type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, 2, 0.001);
    assertClose(
      adam,
      start.map((v, i) => v - 0.011 * Math.sign(gradient[i]!)),
      'adam',
    );
  });

  it('leave no tensors behind across repeated steps', () => {
    for (const type of ['adagrad', 'adam', 'sgd'] as const) {
      const optimizer = createOptimizer(optimizerSchema.parse({ type }));
      const x = tf.variable(tf.zeros([4]), true, `leak-${type}`);
      const g = tf.ones([4]);
      optimizer.applyGradients({ [x.name]: g });
      const after = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) {
        optimizer.setLearningRate(0.01 * (i + 1));
        optimizer.applyGradients({ [x.name]: g });
      }
      assert.equal(tf.memory().numTensors, after, type);
      x.dispose();
      g.dispose();
      optimizer.dispose();
    }
  });
});

describe('learning-rate schedules', () => {
  const at = (schedule: unknown, step: number, total = 11) =>
    learningRateAt(2, scheduleSchema.parse(schedule), step, total);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

  it('constant, with linear warm-up', () => {
    assert.equal(at({ type: 'constant' }, 0), 2);
    assert.equal(at({ type: 'constant' }, 10), 2);
    assert.equal(at({ type: 'constant', warmupSteps: 4 }, 0), 0.5);
    assert.equal(at({ type: 'constant', warmupSteps: 4 }, 2), 1.5);
    assert.equal(at({ type: 'constant', warmupSteps: 4 }, 3), 2);
    assert.equal(at({ type: 'constant', warmupSteps: 4 }, 9), 2);
  });

  it('step: gamma every n steps', () => {
    const s = { type: 'step', every: 10, gamma: 0.5 };
    assert.equal(at(s, 9), 2);
    assert.equal(at(s, 10), 1);
    assert.equal(at(s, 25), 0.5);
  });

  it('cosine: from the base rate after warm-up to minFactor at the last step', () => {
    // 11 steps: t = step / 10.
    assert.equal(at({ type: 'cosine' }, 0), 2);
    close(at({ type: 'cosine' }, 5), 1);
    close(at({ type: 'cosine' }, 10), 0);
    close(at({ type: 'cosine', minFactor: 0.1 }, 5), 2 * (0.1 + 0.9 * 0.5));
    close(at({ type: 'cosine', minFactor: 0.1 }, 10), 0.2);
    // Warm-up 2 of 12 steps: 1, 2, then t = (step − 2) / 9.
    const w = { type: 'cosine', warmupSteps: 2 };
    close(at(w, 0, 12), 1);
    close(at(w, 1, 12), 2);
    close(at(w, 2, 12), 2);
    close(at(w, 5, 12), (2 * (1 + Math.cos(Math.PI / 3))) / 2);
    close(at(w, 11, 12), 0);
  });
});
