/**
 * A run must not depend on what its process ran before. On the wasm backend the first batch big enough to
 * grow the wasm memory once came out of GatherV2 as zeros (test/wasm-heap-growth.test.ts has the kernel
 * side): a run trained by a fresh `mtlzoo train` differed from the same config trained after another run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { nativePackUnavailableReason } from '../src/backend/wasm-native.js';
import { openMpThreads } from '../src/engine/environment.js';
import { trainRun } from '../src/engine/run.js';
import { loadSmall } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { runMtlzoo } from './helpers/process.js';

// 64 px and 576 images a batch: the first step's gather needs more than the fresh 16 MiB heap holds.
const CONFIG = `seed: 3
backend: wasm
backbone:
  name: tiny
  options: { inputSize: 64, channels: [4, 8], embeddingDim: 8 }
method: modulation
dataset:
  name: shapes
  options:
    counts: { train: 240, val: 24, test: 24 }
    tasks: [colour, shape, position]
evaluators:
  - name: triplet-accuracy
    options: { tripletsPerTask: 20 }
train:
  steps: 2
  batch: { tripletsPerTask: 64 }
  logEvery: 1
`;

const trainLosses = (runDir: string) =>
  readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; step: number; taskLoss: number[] })
    .filter((record) => record.type === 'train')
    .map(({ step, taskLoss }) => ({ step, taskLoss }));

describe('a run in a fresh process', function () {
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => workspace.cleanup());

  it('trains as the same config does in a process that has trained before', async function () {
    const { kernel, loaded } = await loadSmall(workspace.dir, CONFIG);
    // Twice here: the second run starts with the memory the first one grew.
    for (const name of ['warm-up', 'warm'])
      await trainRun(kernel, loaded, { outputDir: workspace.dir, name });
    // Said explicitly, the native pack's threads are this process's: its sums depend on them.
    const threads = openMpThreads();
    const fresh = await runMtlzoo(
      ['train', '-c', path.join(workspace.dir, 'exp.yaml'), '--out', workspace.dir, '--name', 'fresh'],
      { env: { OMP_NUM_THREADS: String(threads) } },
    );
    assert.equal(fresh.code, 0, fresh.stderr);
    const environment = JSON.parse(
      readFileSync(path.join(workspace.dir, 'fresh', 'environment.json'), 'utf8'),
    ) as { threads: number | null };
    assert.equal(environment.threads, nativePackUnavailableReason() === undefined ? threads : null);
    const warm = trainLosses(path.join(workspace.dir, 'warm'));
    assert.equal(warm.length, 2);
    assert.deepEqual(trainLosses(path.join(workspace.dir, 'fresh')), warm);
    // Not a degenerate batch: identical embeddings give every triplet the margin as its loss.
    assert.ok(warm[0]!.taskLoss.some((loss) => Math.abs(loss - 0.2) > 1e-3));
  });
});
