import { strict as assert } from 'node:assert';
import { Kernel, tf } from 'mtlzoo';
import { checkMethodContract } from 'mtlzoo/testing';
import { exampleMethod } from '../src/method.js';

/** mtlzoo's small `tiny` backbone, built the way mtlzoo builds it. */
const backbone = () =>
  new Kernel().registries.build(
    'backbone',
    { name: 'tiny', options: { inputSize: 16, channels: [4, 8], embeddingDim: 6 } },
    {},
  );

describe('example-method', () => {
  before(() => tf.setBackend('cpu'));

  it('meets the method contract', async () => {
    await checkMethodContract(exampleMethod, {}, await backbone(), 3);
    await checkMethodContract(exampleMethod, { initScale: 0.5 }, await backbone(), 2);
  });

  it('has a scale and a shift per task and needs one gallery pass', async () => {
    const model = await exampleMethod.create(
      { initScale: 1 },
      { backbone: await backbone(), taskCount: 3, seed: 0 },
    );
    try {
      assert.equal(model.report().paramsPerTask, 2 * 6);
      assert.equal(model.report().galleryPasses, 1);
    } finally {
      model.dispose();
    }
  });
});
