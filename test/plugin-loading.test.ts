import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateRun, trainRun } from '../src/engine/run.js';
import { Kernel } from '../src/kernel/kernel.js';
import * as tf from '../src/tf.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { tempDir, writeFiles } from './helpers/files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE = path.join(ROOT, 'docs', 'examples', 'mtlzoo-plugin-soft-margin');

const CONFIG = (plugin: string) => `plugins: [${plugin}]
backend: cpu
backbone:
  name: tiny
  options: { inputSize: 16, channels: [4], embeddingDim: 4 }
train: { steps: 2, batch: { tripletsPerTask: 2 } }
method: shared
dataset:
  name: shapes
  options: { counts: { train: 40, val: 12, test: 12 }, tasks: [colour, shape] }
evaluators: [triplet-accuracy]
loss:
  name: soft-margin
  options:
    distance: euclidean
`;

/** A project folder where `mtlzoo` is installed (linked to this checkout), as a user's would be. */
function projectWithMtlzoo(dir: string): void {
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, path.join(dir, 'node_modules', 'mtlzoo'), 'dir');
}

/** The example loss against a plain loop: log(1 + exp(|a-p| - |a-n|)). */
async function checkSoftMargin(kernel: Kernel, expectedSource: RegExp): Promise<void> {
  const entry = kernel.registries.of('loss').entry('soft-margin');
  assert.match(entry.source, expectedSource);
  const loss = await entry.plugin.create(entry.plugin.options.parse({ distance: 'euclidean' }), {});
  const a = [
    [0.6, 0.8],
    [1, 0],
  ];
  const p = [
    [0, 1],
    [1, 0],
  ];
  const n = [
    [1, 0],
    [0, -1],
  ];
  const values = tf.tidy(() => loss.compute(tf.tensor2d(a), tf.tensor2d(p), tf.tensor2d(n)).arraySync());
  const dist = (x: number[], y: number[]) => Math.hypot(x[0]! - y[0]!, x[1]! - y[1]!);
  a.forEach((anchor, i) => {
    const expected = Math.log1p(Math.exp(dist(anchor, p[i]!) - dist(anchor, n[i]!)));
    assert.ok(Math.abs(values[i]! - expected) < 1e-5, `triplet ${i}: ${values[i]} vs ${expected}`);
  });
}

describe('third-party plugins load through the same door as built-ins', () => {
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => workspace.cleanup());

  it('from a local folder named relative to the config file', async () => {
    const dir = workspace.dir;
    projectWithMtlzoo(dir);
    cpSync(EXAMPLE, path.join(dir, 'my-plugins', 'soft-margin'), { recursive: true });
    writeFiles(dir, { 'configs/exp.yaml': CONFIG('../my-plugins/soft-margin') });
    const kernel = new Kernel({ logger: createMemoryLogger() });
    const loaded = await kernel.loadConfig(path.join(dir, 'configs', 'exp.yaml'));
    assert.equal(loaded.config.loss.name, 'soft-margin');
    assert.equal(loaded.config.loss.options.distance, 'euclidean');
    await checkSoftMargin(kernel, /^path:.*my-plugins\/soft-margin$/);
    // The run saves the plugin path resolved, so it can be evaluated from anywhere, by a fresh kernel.
    const summary = await trainRun(kernel, loaded, { outputDir: path.join(dir, 'runs'), name: 'run' });
    const evaluated = await evaluateRun(new Kernel({ logger: createMemoryLogger() }), summary.runDir);
    assert.equal(evaluated.step, 2);
  });

  it('says what a plugin folder lacks when it has no entry point', async () => {
    writeFiles(workspace.dir, {
      'empty-plugin/README.md': 'nothing here\n',
      'exp.yaml': CONFIG('./empty-plugin'),
    });
    await assert.rejects(
      new Kernel({ logger: createMemoryLogger() }).loadConfig(path.join(workspace.dir, 'exp.yaml')),
      /exp\.yaml: plugins\[0\]: plugin folder \.\/empty-plugin .* has no entry point/,
    );
  });

  it('from an npm package installed in the project node_modules', async () => {
    const dir = workspace.dir;
    projectWithMtlzoo(dir);
    cpSync(EXAMPLE, path.join(dir, 'node_modules', 'mtlzoo-plugin-soft-margin'), { recursive: true });
    writeFiles(dir, { 'exp.yaml': CONFIG('mtlzoo-plugin-soft-margin') });
    const kernel = new Kernel({ logger: createMemoryLogger() });
    await kernel.loadConfig(path.join(dir, 'exp.yaml'));
    await checkSoftMargin(kernel, /^npm:mtlzoo-plugin-soft-margin@1\.0\.0$/);
    // Loading the same module again (a second config) is not a duplicate registration.
    await kernel.loadConfig(path.join(dir, 'exp.yaml'));
  });

  it('validates the plugin options with the plugin schema', async () => {
    const dir = workspace.dir;
    projectWithMtlzoo(dir);
    cpSync(EXAMPLE, path.join(dir, 'node_modules', 'mtlzoo-plugin-soft-margin'), { recursive: true });
    writeFiles(dir, {
      'exp.yaml': CONFIG('mtlzoo-plugin-soft-margin').replace('distance: euclidean', 'distance: cosine'),
    });
    await assert.rejects(
      new Kernel({ logger: createMemoryLogger() }).loadConfig(path.join(dir, 'exp.yaml')),
      /exp\.yaml: loss\.options\.distance: .*squared-euclidean.*euclidean/,
    );
  });

  it('refuses a module that exports no plugin, and one that clashes with a built-in', async () => {
    const dir = workspace.dir;
    writeFiles(dir, {
      'empty.js': 'export const nothing = 1;\n',
      'clash.js': `export default { kind: 'loss', name: 'triplet', version: '1.0.0', description: 'x', options: { safeParse() {} }, create() {} };\n`,
      'a.yaml': CONFIG('./empty.js'),
      'b.yaml': CONFIG('./clash.js'),
    });
    await assert.rejects(
      new Kernel({ logger: createMemoryLogger() }).loadConfig(path.join(dir, 'a.yaml')),
      /a\.yaml: plugins\[0\]: .*exports no plugin/,
    );
    await assert.rejects(
      new Kernel({ logger: createMemoryLogger() }).loadConfig(path.join(dir, 'b.yaml')),
      /b\.yaml: plugins\[0\]: loss "triplet" is registered twice: by builtin and by path:.*clash\.js/,
    );
  });
});
