/**
 * The project's wasm kernels when allocating their output grows the wasm memory (test/fixtures/heap-growth.ts,
 * in a child process so that each case gets a fresh 16 MiB heap): the result must be the one the same call
 * gives with room to spare. GatherV2 once took its index view before allocating, read it empty after the
 * growth and returned uninitialised memory: the first training batch of every process was zeros.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { nativePackUnavailableReason } from '../src/backend/wasm-native.js';
import { WASM_KERNELS } from '../src/backend/wasm-training-kernels.js';
import { NO_OUTPUT_ALLOCATION, type HeapGrowthResult } from './fixtures/heap-growth-cases.js';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'heap-growth.ts');

function runChild(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=mtlzoo-source', CHILD], {
    cwd: path.join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('wasm kernels when their output allocation grows the wasm memory', function () {
  let results: HeapGrowthResult[];

  before(async function () {
    const { code, stdout, stderr } = await runChild();
    // The last lines of stderr say why; the module's source fills the lines before them.
    assert.equal(code, 0, stderr.split('\n').slice(-8).join('\n'));
    results = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as HeapGrowthResult);
  });

  it('covers every kernel the project registers that allocates, on each of its paths', function () {
    const native = nativePackUnavailableReason() === undefined;
    const expected = WASM_KERNELS.filter((k) => !NO_OUTPUT_ALLOCATION.includes(k.kernelName)).flatMap((k) => [
      ...(k.wasm ? [`${k.kernelName} wasm`] : []),
      ...(native && k.native ? [`${k.kernelName} native`] : []),
    ]);
    assert.deepEqual(results.map((r) => `${r.kernelName} ${r.path}`).sort(), expected.sort());
  });

  it('gives, with the memory grown during the call, what it gives with room to spare', function () {
    const wrong = results.filter((r) => !r.grewInCall || r.grewInReference || r.firstDifference !== null);
    assert.deepEqual(
      wrong.map((r) =>
        !r.grewInCall
          ? `${r.kernelName} ${r.path}: the memory did not grow during the call (${r.outputBytes} bytes out)`
          : r.grewInReference
            ? `${r.kernelName} ${r.path}: the memory grew during the reference call too`
            : `${r.kernelName} ${r.path}: ${r.firstDifference}`,
      ),
      [],
    );
  });
});
