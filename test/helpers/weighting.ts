/** Training runs with a weighting strategy, shared by the weighting tests and the full grid. */
import { strict as assert } from 'node:assert';
import { trainRun } from '../../src/engine/run.js';
import type { StepRecord } from '../../src/engine/trainer.js';
import * as tf from '../../src/tf.js';
import { loadSmall, smallConfig } from './experiment.js';

/** Steps of each smoke run (the grid sets 20). */
export const STEPS = Number(process.env.MTLZOO_WEIGHTING_STEPS ?? 4);

/** The small experiment cut to what a training smoke test needs: two tasks, tiny batches, a small test. */
export function leanConfig(method: string, weighting: string): string {
  return smallConfig({ method, steps: STEPS, extra: `  weighting: ${weighting}\n` })
    .replace('tasks: [colour, shape, position]', 'tasks: [colour, position]')
    .replace('tripletsPerTask: 4 }', 'tripletsPerTask: 3 }')
    .replace(
      /evaluators:[\s\S]*?train:/,
      'evaluators:\n  - name: triplet-accuracy\n    options: { tripletsPerTask: 10 }\ntrain:',
    );
}

/** Trains `method` with `weighting` for STEPS steps; returns the losses and tensor counts after each step. */
export async function trainWith(dir: string, method: string, weighting: string) {
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

/** Finite losses at every step, and a tensor count that is flat after the first two steps. */
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
