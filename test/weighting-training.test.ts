/**
 * Every weighting strategy trains end to end (finite losses, a tensor count that stays flat over steps), on
 * the method with both shared and task-specific parameters; every architecture the method registry holds
 * trains with a loss-based and a gradient-based strategy. The full grid is `npm run test:weighting-grid`.
 */
import { strict as assert } from 'node:assert';
import { weightingPlugins } from '../plugins/weighting/index.js';
import { methodPlugins } from '../plugins/method/index.js';
import { trainRun } from '../src/engine/run.js';
import type { StepRecord } from '../src/engine/trainer.js';
import * as tf from '../src/tf.js';
import { tempDir } from './helpers/files.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';

const STEPS = Number(process.env.MTLZOO_WEIGHTING_STEPS ?? 4);

/** The small experiment cut to what a training smoke test needs: two tasks, tiny batches, a small test. */
function leanConfig(method: string, weighting: string): string {
  return smallConfig({ method, steps: STEPS, extra: `  weighting: ${weighting}\n` })
    .replace('tasks: [colour, shape, position]', 'tasks: [colour, position]')
    .replace('tripletsPerTask: 4 }', 'tripletsPerTask: 3 }')
    .replace(
      /evaluators:[\s\S]*?train:/,
      'evaluators:\n  - name: triplet-accuracy\n    options: { tripletsPerTask: 10 }\ntrain:',
    );
}

/** Trains `method` with `weighting` for STEPS steps; returns the losses and tensor counts after each step. */
async function trainWith(dir: string, method: string, weighting: string) {
  const { kernel, loaded } = await loadSmall(dir, leanConfig(method, weighting));
  const records: StepRecord[] = [];
  const tensors: number[] = [];
  await trainRun(kernel, loaded, {
    outputDir: dir,
    name: `${method}-${weighting}`,
    hooks: [
      {
        name: 'watch',
        afterStep(record) {
          records.push(record);
          tensors.push(tf.memory().numTensors);
        },
      },
    ],
  });
  return { records, tensors };
}

export function checkTraining(records: readonly StepRecord[], tensors: readonly number[], what: string) {
  assert.equal(records.length, STEPS, what);
  for (const r of records) {
    assert.ok(
      Number.isFinite(r.loss) && r.taskLoss.every(Number.isFinite),
      `${what}: step ${r.step} loss ${r.loss}`,
    );
  }
  // The first steps may create lasting state (optimiser slots, a strategy's buffers); after them, none.
  assert.deepEqual(
    tensors.slice(2),
    new Array(tensors.length - 2).fill(tensors[2]),
    `${what}: tensors ${tensors.join(' ')}`,
  );
}

describe('weighting strategies in training', function () {
  this.timeout(600_000);
  let workspace: ReturnType<typeof tempDir>;
  before(() => {
    workspace = tempDir();
  });
  after(() => workspace.cleanup());

  for (const plugin of weightingPlugins) {
    it(`${plugin.name} on modulation: finite losses, flat tensor count`, async () => {
      const { records, tensors } = await trainWith(workspace.dir, 'modulation', plugin.name);
      checkTraining(records, tensors, plugin.name);
    });
  }

  for (const method of methodPlugins.map((p) => p.name).filter((m) => m !== 'modulation')) {
    for (const weighting of ['uncertainty', 'pcgrad'].filter((w) =>
      weightingPlugins.some((p) => p.name === w),
    )) {
      it(`${weighting} on ${method}`, async () => {
        const { records, tensors } = await trainWith(workspace.dir, method, weighting);
        checkTraining(records, tensors, `${method} × ${weighting}`);
      });
    }
  }
});
