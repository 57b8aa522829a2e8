import { strict as assert } from 'node:assert';
import { Rng, tf } from 'mtlzoo';
import { checkWeightingContract } from 'mtlzoo/testing';
import { exampleWeighting } from '../src/weighting.js';

describe('example-weighting', () => {
  before(() => tf.setBackend('cpu'));

  it('meets the weighting contract, state round-trip included', async () => {
    const report = await checkWeightingContract(exampleWeighting, {});
    assert.ok(report.stateful);
    await checkWeightingContract(exampleWeighting, { power: 2 });
  });

  it('weighs the task that kept more of its loss more', async () => {
    const weighting = await exampleWeighting.create({ power: 1 }, { taskCount: 2, seed: 0 });
    if (weighting.uses !== 'losses') throw new Error('a loss-based strategy');
    const step = (index: number, losses: number[]) => ({
      step: index,
      losses,
      lr: 0.01,
      random: Rng.derive(0, String(index)),
    });
    assert.deepEqual(weighting.weights(step(0, [1, 2])), [1, 1]);
    // Ratios 0.5 and 1: weights 2 · (1/3, 2/3).
    const [a, b] = weighting.weights(step(1, [0.5, 2]));
    assert.ok(Math.abs(a! - 2 / 3) < 1e-12 && Math.abs(b! - 4 / 3) < 1e-12, `${a}, ${b}`);
  });
});
