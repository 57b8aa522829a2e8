/**
 * Releasing saved tensors and intermediate gradients during the backward pass (src/backend/backprop-memory.ts):
 * the same gradients to the bit, a lower peak, no tensor leaked, and the cases where a tensor must be kept
 * (a gradient handed on unchanged, a caller's dy, an input used twice, custom gradients, higher-order
 * gradients).
 */
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-wasm';
import { setBackpropRelease } from '../src/backend/backprop-memory.js';
import { registerWasmTrainingKernels } from '../src/backend/wasm-training-kernels.js';
import { tinyBackbone } from '../plugins/backbone/tiny.js';
import { runStages } from '../src/nn/index.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';
import { normal } from './helpers/kernels.js';

/** Loss, every gradient and the peak bytes of one training step of the tiny backbone. */
async function step(
  release: boolean,
): Promise<{ values: Float32Array[]; peakBytes: number; leaked: number }> {
  const previous = setBackpropRelease(release);
  try {
    const net = tinyBackbone({ inputSize: 16, channels: [8, 16], embeddingDim: 8 }).instantiate('m/', 3);
    const images = normal(new Rng(50), [12, 16, 16, 3]);
    const x = tf.tensor(images.values, images.shape);
    const vars = net
      .variables()
      .filter((v) => v.trainable)
      .map((v) => v.variable);
    const before = tf.memory().numTensors;
    let values: Float32Array[] = [];
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.tidy(() => tf.sum(tf.square(runStages(net, x, { training: true })))),
        vars,
      );
      values = [value, ...vars.map((v) => grads[v.name]!)].map((t) => t.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const leaked = tf.memory().numTensors - before;
    x.dispose();
    net.dispose();
    return { values, peakBytes: profile.peakBytes, leaked };
  } finally {
    setBackpropRelease(previous);
  }
}

describe('backprop memory: tensors released as the backward pass moves on', function () {
  before(function () {
    registerWasmTrainingKernels();
  });

  after(async function () {
    await tf.setBackend('cpu');
  });

  for (const backend of ['cpu', 'wasm'])
    it(`${backend}: the same gradients to the bit, a lower peak, nothing leaked`, async function () {
      await tf.setBackend(backend);
      const kept = await step(false);
      const released = await step(true);
      assert.equal(released.values.length, kept.values.length);
      released.values.forEach((v, i) => assert.deepEqual(v, kept.values[i], `value ${i}`));
      assert.equal(released.leaked, 0);
      assert.equal(kept.leaked, 0);
      assert.ok(
        released.peakBytes < 0.85 * kept.peakBytes,
        `peak ${released.peakBytes} bytes with release, ${kept.peakBytes} without`,
      );
    });

  it('keeps a caller’s dy, gradients handed on unchanged, and inputs used twice', async function () {
    await tf.setBackend('cpu');
    const x = tf.tensor([1, -2, 3]);
    const dy = tf.tensor([0.5, 1, 2]);
    // Identity's and Add's gradients hand dy on unchanged; the caller's dy must survive the pass.
    const g = tf.grad((a: tf.Tensor) => tf.relu(tf.add(tf.clone(a), tf.clone(a))))(x, dy);
    assert.deepEqual(Array.from(g.dataSync()), [1, 0, 4]);
    assert.deepEqual(Array.from(dy.dataSync()), [0.5, 1, 2]);
    // A custom gradient that saves its input, next to an op whose input is used twice.
    const twice = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [a, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([a]);
      return { value: tf.mul(a, 2), gradFunc: (d: tf.Tensor) => [tf.mul(d, 2)] };
    });
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(twice(a), tf.mul(tf.exp(b), b))),
    )([x, tf.ones([3])]);
    // d/db of e^b·b is e^b·(1 + b) = 2e at b = 1.
    assert.ok(Math.abs(value.dataSync()[0]! - 4 * Math.E) < 1e-5);
    assert.deepEqual(
      Array.from(grads[0]!.dataSync()),
      [2, 2, 2].map((v) => Math.fround(v * Math.E)),
    );
    const db = Array.from(grads[1]!.dataSync());
    [2, -4, 6].forEach((v, i) => assert.ok(Math.abs(db[i]! - v * 2 * Math.E) < 1e-4, `db[${i}] ${db[i]}`));
    tf.dispose([x, dy, g, value, ...grads]);
  });

  it('leaves higher-order gradients (which keep the tape) alone', async function () {
    await tf.setBackend('cpu');
    const x = tf.scalar(3);
    // d²/dx² of x³ is 6x.
    const second = tf.grad((a: tf.Tensor) => tf.grad((b: tf.Tensor) => tf.pow(b, 3))(a))(x);
    assert.equal(second.dataSync()[0], 18);
    tf.dispose([x, second]);
  });
});
