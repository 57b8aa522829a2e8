import { strict as assert } from 'node:assert';
import { checkBackendContract } from 'mtlzoo/testing';
import { exampleBackend } from '../src/backend.js';

describe('example-backend', () => {
  it('loads and passes the training smoke test', async () => {
    const report = await checkBackendContract(exampleBackend, {});
    assert.equal(report.available, true, JSON.stringify(report));
  });
});
