/**
 * `mtlzoo export` in Node: every built-in method's graph model, loaded by stock TensorFlow.js from memory,
 * gives the embeddings of the method's own forward pass (inference folds batch normalisation into fused
 * convolutions, which export as convolution, bias and ReLU), on the cpu reference and on wasm with mtlzoo's
 * kernels.
 */
import { strict as assert } from 'node:assert';
import { selectBackend } from '../src/backend/select.js';
import { normalisedEmbeddings } from '../src/engine/embedding.js';
import { Kernel } from '../src/kernel/kernel.js';
import { exportArtifacts } from '../src/retrieval/export.js';
import type { RunIdentity } from '../src/retrieval/model.js';
import * as tf from '../src/tf.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/random.js';

const TASKS = ['colour', 'shape', 'position'];
const BATCH = 2;
const METHODS: readonly { name: string; options: object }[] = [
  { name: 'modulation', options: {} },
  { name: 'modulation', options: { form: 'matrix' } },
  { name: 'shared', options: { heads: true } },
  { name: 'separate', options: {} },
  { name: 'cross-stitch', options: {} },
  { name: 'csn', options: {} },
  { name: 'film', options: {} },
  { name: 'task-routing', options: {} },
  { name: 'adapters', options: {} },
  { name: 'task-bn', options: {} },
  { name: 'mtan', options: {} },
  { name: 'mmoe', options: {} },
  { name: 'asen', options: {} },
];

/** Largest difference between the exported graph and the method's own embedding, over every task. */
async function exportGap(name: string, options: object): Promise<number> {
  const kernel = new Kernel({ logger: createMemoryLogger() });
  const backbone = await kernel.registries.build(
    'backbone',
    { name: 'tiny', options: { inputSize: 16, channels: [4, 8], embeddingDim: 6 } },
    {},
  );
  const model = await kernel.registries.build(
    'method',
    { name, options },
    { backbone, taskCount: TASKS.length, seed: 3 },
  );
  const identity: RunIdentity = {
    dir: 'none',
    checkpoint: 'last',
    weightsSha256: '0'.repeat(64),
    configHash: '0',
    method: name,
    backbone: 'tiny',
    tasks: TASKS,
  };
  const rng = new Rng(11);
  const pixels = Float32Array.from({ length: BATCH * 16 * 16 * 3 }, () => rng.int(256));
  let gap = 0;
  try {
    for (const [task, taskName] of TASKS.entries()) {
      const { modelJson, shards } = exportArtifacts(
        { model, inputShape: [16, 16, 3], identity },
        { task: taskName, batch: BATCH },
      );
      const manifest = (modelJson['weightsManifest'] as { weights: tf.io.WeightsManifestEntry[] }[])[0]!;
      const data = new Uint8Array([...shards.values()].flatMap((s) => [...s]));
      const graph = await tf.loadGraphModel(
        tf.io.fromMemory({
          modelTopology: modelJson['modelTopology'] as object,
          weightSpecs: manifest.weights,
          weightData: data.buffer,
        }),
      );
      const [exported, direct] = tf.tidy(() => {
        const input = tf.tensor4d(pixels, [BATCH, 16, 16, 3]);
        const images = tf.sub(tf.div(input, 127.5), 1) as tf.Tensor4D;
        const ids = new Int32Array(BATCH).fill(task);
        return [
          (graph.execute(input) as tf.Tensor).dataSync(),
          normalisedEmbeddings(model, images, ids, { training: false }).dataSync(),
        ];
      });
      graph.dispose();
      assert.equal(exported.length, direct.length);
      for (let i = 0; i < direct.length; i++) gap = Math.max(gap, Math.abs(exported[i]! - direct[i]!));
    }
  } finally {
    model.dispose();
  }
  return gap;
}

describe('retrieval export', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    describe(`on ${backend}`, () => {
      before(async () => {
        // selectBackend registers wasm with mtlzoo's kernels (and the native pack when built).
        await selectBackend(
          { name: backend, options: {} },
          new Kernel({ logger: createMemoryLogger() }).registries,
        );
      });
      after(() => tf.setBackend('cpu'));
      for (const { name, options } of METHODS) {
        it(`exports ${name} ${JSON.stringify(options)} to the embeddings of its own forward pass under every task`, async () => {
          const gap = await exportGap(name, options);
          assert.ok(gap < 1e-5, `largest difference ${gap}`);
        });
      }
    });
  }
});
