import { strict as assert } from 'node:assert';
import { checkDatasetContract } from 'mtlzoo/testing';
import { exampleDataset } from '../src/dataset.js';

describe('example-dataset', () => {
  it('meets the dataset contract', async () => {
    const report = await checkDatasetContract(exampleDataset, { counts: { train: 30, val: 10, test: 10 } });
    assert.deepEqual(report.tasks, ['orientation', 'colour']);
    assert.deepEqual(report.sizes, { train: 30, val: 10, test: 10 });
  });
});
