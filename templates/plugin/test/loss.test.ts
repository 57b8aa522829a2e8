import { strict as assert } from 'node:assert';
import { tf } from 'mtlzoo';
import { checkLossContract } from 'mtlzoo/testing';
import { exampleLoss } from '../src/loss.js';

describe('example-loss', () => {
  before(() => tf.setBackend('cpu'));

  it('meets the loss contract, gradient included, for both distances', async () => {
    await checkLossContract(exampleLoss, {});
    await checkLossContract(exampleLoss, { distance: 'euclidean' });
  });

  it('is log(2) when the positive and the negative are equally far', async () => {
    const loss = await exampleLoss.create({ distance: 'squared-euclidean' }, {});
    const value = tf.tidy(() => {
      const a = tf.tensor2d([[1, 0]]);
      const b = tf.tensor2d([[0, 1]]);
      return loss.compute(a, b, b).dataSync()[0]!;
    });
    assert.ok(Math.abs(value - Math.log(2)) < 1e-6, String(value));
  });
});
