import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { writeAttentionMaps, type AttentionResult } from '../src/analysis/attention.js';
import { trainRun } from '../src/engine/run.js';
import { RunDir } from '../src/engine/run-dir.js';
import type { StepRecord } from '../src/engine/trainer.js';
import * as tf from '../src/tf.js';
import { tempDir } from './helpers/files.js';
import { loadSmall } from './helpers/experiment.js';

const QUICKSTART = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'configs',
  'quickstart.yaml',
);

/** The quickstart experiment (data, backbone, tasks, optimiser) cut to a few steps on fewer images. */
function quickstartWith(method: string): string {
  return `extends: ${QUICKSTART}
backend: wasm
method: ${method}
dataset:
  name: shapes
  options:
    counts: { train: 60, val: 12, test: 12 }
evaluators:
  - name: triplet-accuracy
    options: { tripletsPerTask: 8 }
train:
  steps: 3
  batch: { tripletsPerTask: 2 }
  logEvery: 1
  probe: { every: 2, tripletsPerTask: 2 }
`;
}

const METHODS: readonly [string, string][] = [
  ['film', 'film'],
  ['task-routing', 'task-routing'],
  ['adapters', 'adapters'],
  ['task-bn', 'task-bn'],
  ['mtan', 'mtan'],
  ['mmoe', 'mmoe'],
  ['csn (released)', 'csn'],
  ['asen v1', '{ name: asen, options: { version: 1, spatialWidth: 32, channelWidth: 32 } }'],
  [
    'asen v2',
    '{ name: asen, options: { version: 2, spatialWidth: 32, channelWidth: 32, attributeWidth: 16 } }',
  ],
];

describe('the new methods on the quickstart data', function () {
  this.timeout(240_000);
  let workspace: ReturnType<typeof tempDir>;
  const runs = new Map<string, string>();
  before(() => {
    workspace = tempDir();
  });
  after(() => workspace.cleanup());

  for (const [label, method] of METHODS) {
    it(`${label}: trains with finite losses, flat tensor counts and the gradient probe`, async () => {
      const { kernel, loaded } = await loadSmall(path.join(workspace.dir, label), quickstartWith(method));
      const losses: number[] = [];
      const counts: number[] = [];
      const summary = await trainRun(kernel, loaded, {
        outputDir: path.join(workspace.dir, label),
        name: 'run',
        hooks: [
          {
            name: 'record',
            afterStep: (record: StepRecord) => {
              losses.push(record.loss);
              counts.push(tf.memory().numTensors);
            },
          },
        ],
      });
      runs.set(label, summary.runDir);
      assert.equal(losses.length, 3);
      assert.ok(losses.every(Number.isFinite), `losses ${losses.join(' ')}`);
      // The optimiser creates its slots at step 1; the probe runs at step 2.
      assert.equal(counts[2], counts[1], `tensor counts ${counts.join(' ')}`);
      const probes = (await new RunDir(summary.runDir).readMetrics()).filter((r) => r.type === 'probe');
      assert.equal(probes.length, 1);
      assert.ok(summary.test.some((m) => m.name === 'triplet-accuracy' && Number.isFinite(m.value)));
    });
  }

  describe('mtlzoo analyze attention', () => {
    let result: AttentionResult;
    let outDir: string;
    before(async function () {
      if (!runs.has('asen v2')) this.skip();
      const { kernel } = await loadSmall(path.join(workspace.dir, 'attention'), quickstartWith('shared'));
      outDir = path.join(workspace.dir, 'attention', 'out');
      result = await writeAttentionMaps(kernel, runs.get('asen v2')!, { outDir, images: 3, cellSize: 64 });
    });

    it('writes each task’s maps as PNGs over the images, with a manifest of the raw maps', async () => {
      assert.deepEqual(result.tasks, ['colour', 'colour-warmth', 'position', 'background']);
      assert.deepEqual(result.grid, [8, 8], 'the attended stage (conv2 of tiny at 32 px) is 8×8');
      assert.equal(result.overlays.length, 4 * 3);
      for (const overlay of result.overlays) {
        const total = overlay.map.flat().reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(total - 1) < 1e-4, `${overlay.file}: weights sum to ${total}`);
        const { width, height } = await sharp(path.join(outDir, overlay.file)).metadata();
        assert.deepEqual([width, height], [64, 64]);
      }
      const grid = await sharp(path.join(outDir, 'attention.png')).metadata();
      // Images in the first row, one row per task; 3 columns of 64 px with 4 px gaps.
      assert.deepEqual([grid.width, grid.height], [4 + 3 * 68, 4 + 5 * 68]);
      for (const panel of result.panels) assert.ok(existsSync(path.join(outDir, panel.file)), panel.file);
      const manifest = JSON.parse(
        readFileSync(path.join(outDir, 'attention.json'), 'utf8'),
      ) as AttentionResult;
      assert.deepEqual(
        manifest.overlays.map((o) => o.file),
        result.overlays.map((o) => o.file),
      );
      assert.equal(manifest.method, 'asen');
    });

    it('blends the map over the image: where attention peaks, the picture turns towards yellow', async () => {
      const overlay = result.overlays[0]!;
      const { data, info } = await sharp(path.join(outDir, overlay.file))
        .raw()
        .toBuffer({ resolveWithObject: true });
      const flat = overlay.map.flat();
      const peak = flat.indexOf(Math.max(...flat));
      const cell = info.width / 8;
      const at = (index: number): [number, number, number] => {
        const [r, c] = [Math.floor(index / 8), index % 8];
        const p = (Math.floor((r + 0.5) * cell) * info.width + Math.floor((c + 0.5) * cell)) * info.channels;
        return [data[p]!, data[p + 1]!, data[p + 2]!];
      };
      const low = flat.indexOf(Math.min(...flat));
      // Viridis: the peak's colour (yellow) has far more red and green than blue; the minimum's (purple) not.
      const [r1, g1, b1] = at(peak);
      const [r0, g0, b0] = at(low);
      assert.ok(r1 + g1 - 2 * b1 > r0 + g0 - 2 * b0, `peak ${[r1, g1, b1]} low ${[r0, g0, b0]}`);
    });

    it('refuses a method without attention maps', async () => {
      const { kernel } = await loadSmall(path.join(workspace.dir, 'attention'), quickstartWith('shared'));
      await assert.rejects(
        writeAttentionMaps(kernel, runs.get('film')!, { outDir: path.join(workspace.dir, 'none') }),
        /method film exposes no attention maps/,
      );
    });
  });
});
