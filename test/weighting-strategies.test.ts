/**
 * Each built-in weighting strategy against an independent computation: closed forms on two or three
 * hand-made gradient vectors, optimality conditions for the solvers, float64 loops for learned weights.
 */
import { strict as assert } from 'node:assert';
import { weightingPlugins } from '../plugins/weighting/index.js';
import type { GradientWeighting, LossWeighting, Weighting, WeightingStep } from '../src/kinds/weighting.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';
import { taskGradientMatrix } from '../src/weighting/task-gradients.js';

async function strategy(
  name: string,
  options: Record<string, unknown> = {},
  taskCount = 2,
): Promise<Weighting> {
  const plugin = weightingPlugins.find((p) => p.name === name)!;
  return plugin.create(plugin.options.parse(options), { taskCount, seed: 3 });
}

function stepOf(step: number, losses: readonly number[], lr = 0.01): WeightingStep {
  return { step, losses, lr, random: Rng.derive(11, `test/${step}`) };
}

/** The strategy's shared update and task weights for `rows` (one gradient per task). */
function updateOf(
  weighting: Weighting,
  rows: readonly (readonly number[])[],
  step: WeightingStep = stepOf(
    0,
    rows.map(() => 1),
  ),
): { shared: number[]; taskWeights: readonly number[] } {
  assert.equal(weighting.uses, 'gradients');
  const before = tf.memory().numTensors;
  const matrix = taskGradientMatrix(tf.tensor2d(rows.map((r) => [...r])), [
    { name: 'w', size: rows[0]!.length },
  ]);
  const result = (weighting as GradientWeighting).update(matrix, step);
  const shared = Array.from(result.shared.dataSync());
  tf.dispose([matrix.matrix, result.shared]);
  // Nothing but the strategy's own lasting state may remain.
  assert.ok(
    tf.memory().numTensors - before <= (weighting.state?.().tensors?.length ?? 0),
    'tensors left behind',
  );
  return { shared, taskWeights: result.taskWeights };
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const near = (actual: readonly number[], expected: readonly number[], tolerance = 1e-5, what = '') => {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((v, i) =>
    assert.ok(
      Math.abs(v - expected[i]!) <= tolerance * Math.max(1, Math.abs(expected[i]!)),
      `${what} [${i}]: ${v} vs ${expected[i]}  (${actual.join(', ')} vs ${expected.join(', ')})`,
    ),
  );
};

describe('weighting strategies against independent computations', () => {
  it('equal: weight 1 on every task', async () => {
    const w = (await strategy('equal', {}, 3)) as LossWeighting;
    assert.deepEqual(w.weights(stepOf(0, [0.3, 0.2, 0.9])), [1, 1, 1]);
  });

  it('pcgrad: projections of conflicting gradients (closed form, and a float64 loop on three tasks)', async () => {
    // g1·g2 = −1: g1 ← g1 − (−1/‖g2‖²) g2 = (0.5, 0.5); g2 ← g2 − (−1/‖g1‖²) g1 = (0, 1).
    near(
      updateOf(await strategy('pcgrad'), [
        [1, 0],
        [-1, 1],
      ]).shared,
      [0.5, 1.5],
    );
    // No conflict: the plain sum.
    near(
      updateOf(await strategy('pcgrad'), [
        [1, 0.5],
        [0.2, 1],
      ]).shared,
      [1.2, 1.5],
    );
    // Three tasks: the order is the step's draw; replay it on the vectors themselves in float64.
    const rows = [
      [1, 0, 0.5],
      [-0.8, 0.6, 0],
      [0.1, -1, -0.7],
    ];
    const step = stepOf(4, [1, 1, 1]);
    const got = updateOf(await strategy('pcgrad', {}, 3), rows, step).shared;
    const replay = stepOf(4, [1, 1, 1]).random;
    const expected = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const g = [...rows[i]!];
      const order = [0, 1, 2];
      for (let k = order.length - 1; k > 0; k--) {
        const j = replay.int(k + 1);
        [order[k], order[j]] = [order[j]!, order[k]!];
      }
      for (const j of order) {
        const d = dot(g, rows[j]!);
        if (d < 0) for (let e = 0; e < 3; e++) g[e]! -= (d * rows[j]![e]!) / (dot(rows[j]!, rows[j]!) + 1e-8);
      }
      g.forEach((v, e) => (expected[e]! += v));
    }
    near(got, expected);
  });
});
