import { strict as assert } from 'node:assert';
import type { Metric } from 'mtlzoo';
import { checkEvaluatorContract } from 'mtlzoo/testing';
import { exampleEvaluator } from '../src/evaluator.js';

describe('example-evaluator', () => {
  it('meets the evaluator contract: perfect embeddings rank every nearest match first', async () => {
    const { perfect, random } = await checkEvaluatorContract(
      exampleEvaluator,
      {},
      { expectPerfect: { mrr: 1 } },
    );
    const mrr = (metrics: readonly Metric[]) => metrics.find((m) => m.name === 'mrr' && !m.task)!.value;
    assert.equal(mrr(perfect), 1);
    assert.ok(mrr(random) < 1, 'random embeddings are not perfect');
  });
});
