import { strict as assert } from 'node:assert';
import { tf } from 'mtlzoo';
import { checkBackboneContract } from 'mtlzoo/testing';
import { exampleBackbone } from '../src/backbone.js';

describe('example-backbone', () => {
  before(() => tf.setBackend('cpu'));

  it('meets the backbone contract', async () => {
    await checkBackboneContract(exampleBackbone, { inputSize: 16, width: 4, embeddingDim: 6 });
  });

  it('halves the input side at each conv stage', async () => {
    const { description } = await exampleBackbone.create({ inputSize: 32, width: 4, embeddingDim: 6 }, {});
    assert.deepEqual(
      description.stages.map((s) => s.outputShape),
      [[16, 16, 4], [8, 8, 8], [6]],
    );
  });
});
