/**
 * tfjs's Adam applied one variable at a time (src/backend/adam-update.ts), in one native kernel per variable
 * on wasm with the pack: the same weights and moments as tfjs's own applyGradients (to the bit on cpu,
 * within float rounding in the pack), the same slot names in saved weights, and a lower peak.
 */
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-wasm';
import { tfjsAdamApplyGradients } from '../src/backend/adam-update.js';
import { AdamUpdate } from '../src/backend/kernel-names.js';
import { nativePackUnavailableReason } from '../src/backend/wasm-native.js';
import { registerWasmTrainingKernels } from '../src/backend/wasm-training-kernels.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';
import { normal, relativeError } from './helpers/kernels.js';

const SHAPES = [[3, 3, 4, 8], [8], [40, 6], [1]];

/** Weights, moments and saved-weight names after three Adam steps, and the peak bytes of the last one. */
async function train(backend: string, tfjsOwn: boolean) {
  await tf.setBackend(backend);
  const rng = new Rng(60);
  const variables = SHAPES.map((shape, i) =>
    tf.variable(tf.tensor(normal(rng, shape).values, shape), true, `adam${i}`),
  );
  const optimizer = tf.train.adam(0.01);
  if (tfjsOwn) (optimizer as unknown as { applyGradients: unknown }).applyGradients = tfjsAdamApplyGradients;
  let peakBytes = 0;
  for (let step = 0; step < 3; step++) {
    const grads = variables.map((v) => ({
      name: v.name,
      tensor: tf.tensor(normal(rng, v.shape).values, v.shape),
    }));
    const profile = await tf.profile(() => optimizer.applyGradients(grads));
    peakBytes = profile.peakBytes - profile.kernels[0]!.totalBytesSnapshot;
    tf.dispose(grads.map((g) => g.tensor));
  }
  const saved = await optimizer.getWeights();
  const values = [...variables, ...saved.map((w) => w.tensor)].map((t) => t.dataSync() as Float32Array);
  const names = saved.map((w) => w.name);
  optimizer.dispose();
  tf.dispose(variables);
  return { values, names, peakBytes };
}

describe('Adam one variable at a time (and one kernel per variable in the native pack)', function () {
  before(function () {
    registerWasmTrainingKernels();
  });

  after(async function () {
    await tf.setBackend('cpu');
  });

  it('equals tfjs’s own Adam to the bit on cpu, with the same saved weights and a lower peak', async function () {
    const own = await train('cpu', true);
    const ours = await train('cpu', false);
    assert.deepEqual(ours.names, own.names);
    assert.ok(ours.names.includes('adam0/m') && ours.names.includes('adam3/v'), ours.names.join());
    ours.values.forEach((v, i) => assert.deepEqual(v, own.values[i], `tensor ${i}`));
    assert.ok(ours.peakBytes < own.peakBytes, `peak ${ours.peakBytes} bytes, tfjs's ${own.peakBytes}`);
  });

  const unavailable = nativePackUnavailableReason();
  it(`on wasm matches tfjs’s own Adam on cpu within 1e-6${unavailable ? ` (the pack is not in use: ${unavailable})` : ' (the native kernel)'}`, async function () {
    await tf.setBackend('wasm');
    assert.equal(tf.getKernel(AdamUpdate, 'wasm') !== undefined, unavailable === undefined);
    const expected = await train('cpu', true);
    const actual = await train('wasm', false);
    actual.values.forEach((v, i) => assert.ok(relativeError(v, expected.values[i]!) <= 1e-6, `tensor ${i}`));
  });
});
