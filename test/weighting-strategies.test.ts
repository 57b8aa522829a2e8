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
  it('uncertainty: weights 1/(2e^s) with s learned by Adam on the same losses (float64 loop)', async () => {
    const w = (await strategy('uncertainty', { lr: 0.1 }, 2)) as LossWeighting;
    const losses = [
      [0.9, 0.2],
      [0.7, 0.25],
      [0.6, 0.1],
    ];
    const s = [-0.5, -0.5];
    const m = [0, 0];
    const v = [0, 0];
    losses.forEach((l, step) => {
      const expected = s.map((x) => 1 / (2 * Math.exp(x)));
      near([...w.weights(stepOf(step, l))], expected, 1e-12, `step ${step}`);
      for (let t = 0; t < 2; t++) {
        const g = (-l[t]! / (2 * Math.exp(s[t]!)) + 0.5) / 2;
        m[t] = 0.9 * m[t]! + 0.1 * g;
        v[t] = 0.999 * v[t]! + 0.001 * g * g;
        const mh = m[t]! / (1 - 0.9 ** (step + 1));
        const vh = v[t]! / (1 - 0.999 ** (step + 1));
        s[t]! -= (0.1 * mh) / (Math.sqrt(vh) + 1e-8);
      }
    });
    near(
      [...w.weights(stepOf(3, [0.5, 0.1]))],
      s.map((x) => 1 / (2 * Math.exp(x))),
      1e-12,
    );
  });

  it('dwa: weight 1 for two periods, then K·softmax of the last loss ratios / T', async () => {
    const w = (await strategy('dwa', { window: 2, temperature: 2 }, 2)) as LossWeighting;
    const losses = [
      [1, 2],
      [3, 2], // period 0 means: 2, 2
      [1, 1],
      [1, 0.5], // period 1 means: 1, 0.75
      [0.4, 0.4],
    ];
    const got = losses.map((l, step) => [...w.weights(stepOf(step, l))]);
    for (let step = 0; step < 4; step++) near(got[step]!, [1, 1]);
    const r = [1 / 2, 0.75 / 2].map((x) => Math.exp(x / 2));
    near(
      got[4]!,
      r.map((x) => (2 * x) / (r[0]! + r[1]!)),
      1e-12,
    );
  });

  it('rlw: softmax of standard normal draws, fresh every step and the same for the same step', async () => {
    const w = (await strategy('rlw', {}, 3)) as LossWeighting;
    const a = w.weights(stepOf(7, [1, 1, 1]));
    const b = w.weights(stepOf(7, [1, 1, 1]));
    const c = w.weights(stepOf(8, [1, 1, 1]));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    near([a.reduce((x, y) => x + y, 0)], [1], 1e-12);
    const draws = Array.from({ length: 3 }, () => stepOf(7, []).random);
    const rng = draws[0]!;
    const z = [rng.normal(), rng.normal(), rng.normal()].map(Math.exp);
    near(
      [...a],
      z.map((x) => x / (z[0]! + z[1]! + z[2]!)),
      1e-12,
    );
  });

  it('famo: weights z/(c·L) and logits moved by Adam with decay on the log-loss fall (float64 loop)', async () => {
    const w = (await strategy('famo', {}, 3)) as LossWeighting;
    const steps = [
      { before: [0.8, 0.3, 0.5], after: [0.7, 0.29, 0.45] },
      { before: [0.6, 0.35, 0.4], after: [0.5, 0.3, 0.41] },
      { before: [0.5, 0.2, 0.3], after: [0.45, 0.21, 0.2] },
    ];
    const logits = [0, 0, 0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    steps.forEach(({ before, after }, step) => {
      const e = logits.map(Math.exp);
      const z = e.map((x) => x / (e[0]! + e[1]! + e[2]!));
      const d = before.map((l) => l + 1e-8);
      const c = z.reduce((s, zt, t) => s + zt / d[t]!, 0);
      near(
        [...w.weights(stepOf(step, before))],
        z.map((zt, t) => zt / (c * d[t]!)),
        1e-12,
        `weights ${step}`,
      );
      w.afterUpdate!(after, stepOf(step, before));
      const fall = before.map((b, t) => Math.log(b + 1e-8) - Math.log(after[t]! + 1e-8));
      const zf = z.reduce((s, zt, t) => s + zt * fall[t]!, 0);
      for (let t = 0; t < 3; t++) {
        const g = z[t]! * (fall[t]! - zf) + 1e-3 * logits[t]!;
        m[t] = 0.9 * m[t]! + 0.1 * g;
        v[t] = 0.999 * v[t]! + 0.001 * g * g;
        logits[t]! -=
          (0.025 * (m[t]! / (1 - 0.9 ** (step + 1)))) / (Math.sqrt(v[t]! / (1 - 0.999 ** (step + 1))) + 1e-8);
      }
    });
    const e = logits.map(Math.exp);
    const z = e.map((x) => x / (e[0]! + e[1]! + e[2]!));
    const d = [1, 1, 1].map((l) => l + 1e-8);
    const c = z.reduce((s, zt, t) => s + zt / d[t]!, 0);
    near(
      [...w.weights(stepOf(3, [1, 1, 1]))],
      z.map((zt, t) => zt / (c * d[t]!)),
      1e-12,
    );
  });

  it('gradnorm: update Σ w_t g_t with w = K·softmax(s), s learned on |w_t‖g_t‖ − Ḡ r_t^α| (float64 loop)', async () => {
    const w = await strategy('gradnorm', { lr: 0.05 }, 2);
    const rows = [
      [3, 0, 1],
      [0, 0.5, 0.5],
    ];
    const losses = [
      [1, 1],
      [0.8, 0.95],
      [0.5, 0.9],
    ];
    const s = [1, 1];
    const m = [0, 0];
    const v = [0, 0];
    const norms = rows.map((r) => Math.sqrt(dot(r, r)));
    losses.forEach((l, step) => {
      const e = s.map(Math.exp);
      const weights = e.map((x) => (2 * x) / (e[0]! + e[1]!));
      const expected = rows[0]!.map((_, i) => weights[0]! * rows[0]![i]! + weights[1]! * rows[1]![i]!);
      near(updateOf(w, rows, stepOf(step, l)).shared, expected, 1e-5, `step ${step}`);
      const G = weights.map((x, t) => x * norms[t]!);
      const meanG = (G[0]! + G[1]!) / 2;
      const ratio = l.map((x, t) => x / losses[0]![t]!);
      const target = ratio.map((r) => meanG * (r / ((ratio[0]! + ratio[1]!) / 2)) ** 1.5);
      const dw = G.map((g, t) => Math.sign(g - target[t]!) * norms[t]!);
      // w_t = 2 e^{s_t} / Σe: ∂w_t/∂s_j = w_t (δ_tj − w_j / 2).
      const ds = [0, 1].map((j) =>
        [0, 1].reduce((acc, t) => acc + dw[t]! * weights[t]! * ((t === j ? 1 : 0) - weights[j]! / 2), 0),
      );
      for (let t = 0; t < 2; t++) {
        m[t] = 0.9 * m[t]! + 0.1 * ds[t]!;
        v[t] = 0.999 * v[t]! + 0.001 * ds[t]! ** 2;
        s[t]! -=
          (0.05 * (m[t]! / (1 - 0.9 ** (step + 1)))) / (Math.sqrt(v[t]! / (1 - 0.999 ** (step + 1))) + 1e-8);
      }
    });
    assert.ok(s[0]! < s[1]!, 'the task with the larger gradient loses weight');
  });

  it('mgda: the min-norm point of the convex hull (closed form for two tasks, optimality for three)', async () => {
    // min_γ ‖γ g1 + (1−γ) g2‖²: γ = (g2−g1)·g2 / ‖g1−g2‖², clipped to [0, 1].
    const g1 = [1, 0];
    const g2 = [0, 2];
    const gamma = (dot(g2, g2) - dot(g1, g2)) / (dot(g1, g1) + dot(g2, g2) - 2 * dot(g1, g2));
    near(updateOf(await strategy('mgda'), [g1, g2]).shared, [gamma * 1, (1 - gamma) * 2]);
    // One gradient inside the other's half-space beyond it: the shorter one alone.
    near(
      updateOf(await strategy('mgda'), [
        [1, 0],
        [3, 0.5],
      ]).shared,
      [1, 0],
    );
    // Three tasks: d = Σα g is min-norm on the hull iff g_t·d ≥ ‖d‖² for every t (equality where α_t > 0).
    const rows = [
      [1, 0.2, 0],
      [-0.3, 1, 0.1],
      [0.2, 0.3, 1],
    ];
    const d = updateOf(await strategy('mgda', {}, 3), rows).shared;
    for (const g of rows) assert.ok(dot(g, d) >= dot(d, d) - 1e-5, `g·d ${dot(g, d)} < ‖d‖² ${dot(d, d)}`);
    // 'l2' normalises each gradient first: the min-norm point of the unit vectors.
    const unit = updateOf(await strategy('mgda', { normalization: 'l2' }), [
      [2, 0],
      [0, 4],
    ]).shared;
    near(unit, [0.5, 0.5]);
  });

  it('mgda-ub: loss weights from the representation gradients, as the min-norm problem on their Gram matrix', async () => {
    const w = (await strategy('mgda', { upperBound: true }, 2)) as LossWeighting;
    // Orthogonal representation gradients with squared norms 1 and 4: α ∝ (4, 1).
    const step: WeightingStep = {
      ...stepOf(0, [1, 1]),
      representationGram: () => [
        [1, 0],
        [0, 4],
      ],
    };
    near([...w.weights(step)], [0.8, 0.2]);
  });

  it('graddrop: each element keeps the gradients of one sign, drawn by sign purity', async () => {
    const rows = [
      [1, -1, 2],
      [1, 1, -0.5],
    ];
    let positive = 0;
    for (let step = 0; step < 200; step++) {
      const [a, b, c] = updateOf(await strategy('graddrop'), rows, stepOf(step, [1, 1])).shared;
      assert.equal(a, 2); // purity 1: the positive ones, always
      assert.ok(b === 1 || b === -1, `b = ${b}`);
      assert.ok(c === 2 || c === -0.5, `c = ${c}`);
      if (b === 1) positive += 1;
    }
    // Purity ½ for the middle element: either sign about half the time.
    assert.ok(positive > 70 && positive < 130, `${positive}/200 positive`);
    // leak 1 keeps everything: the sum.
    near(updateOf(await strategy('graddrop', { leak: 1 }), rows).shared, [2, 0, 1.5]);
  });

  it('gradvac: a pair below its target cosine is lifted to exactly the target', async () => {
    const w = await strategy('gradvac', {}, 2);
    w.restore!({
      values: {
        targets: [
          [[0], [0.5]],
          [[0.5], [0]],
        ],
      },
    });
    const g1 = [1, 0];
    const g2 = [-0.6, 0.8]; // cosine −0.6 < 0.5
    const sum = updateOf(w, [g1, g2]).shared;
    // sum = (1 + w2) g1 + (1 + w1) g2 with g1' = g1 + w1 g2, g2' = g2 + w2 g1 (w2 computed against the
    // already updated target: (1−β)·0.5 + β·ρ is only written after task 1's pass over task 2).
    const det = g1[0]! * g2[1]! - g2[0]! * g1[1]!;
    const a = (sum[0]! * g2[1]! - g2[0]! * sum[1]!) / det;
    const b = (g1[0]! * sum[1]! - sum[0]! * g1[1]!) / det;
    const adjusted1 = [g1[0]! + (b - 1) * g2[0]!, g1[1]! + (b - 1) * g2[1]!];
    const cos = dot(adjusted1, g2) / Math.sqrt(dot(adjusted1, adjusted1) * dot(g2, g2));
    near([cos], [0.5], 1e-5);
    const adjusted2 = [g2[0]! + (a - 1) * g1[0]!, g2[1]! + (a - 1) * g1[1]!];
    const cos2 = dot(adjusted2, g1) / Math.sqrt(dot(adjusted2, adjusted2) * dot(g1, g1));
    near([cos2], [0.5], 1e-5);
    // The targets moved towards the observed cosine −0.6 at rate ½.
    const targets = (w.state!().values as { targets: number[][][] }).targets;
    near([targets[0]![1]![0]!, targets[1]![0]![0]!], [-0.05, -0.05], 1e-5);
  });

  it('cagrad: the simplex weights satisfy the optimality conditions; the update is (g0 + c g_w/‖g_w‖)/(1+α²)', async () => {
    const rows = [
      [1, 0.1, 0],
      [-0.5, 1, 0.2],
      [0.3, -0.4, 1],
    ];
    const K = 3;
    const update = updateOf(await strategy('cagrad', {}, K), rows).shared;
    const g0 = rows[0]!.map((_, i) => rows.reduce((s, r) => s + r[i]!, 0) / K);
    const c = 0.5 * Math.sqrt(dot(g0, g0) + 1e-8) + 1e-8;
    // Recover g_w from the update: update·(1+α²) − g0 = c g_w/‖g_w‖ =: u, a vector of norm c.
    const u = update.map((x, i) => x * 1.25 - g0[i]!);
    near([Math.sqrt(dot(u, u))], [c], 1e-4);
    // Optimality of w for min_w g_wᵀg0 + c‖g_w‖ on the simplex: ∂/∂w_t = g_t·(g0 + u) is the same for every
    // task with w_t > 0 and no smaller for the others; g_w ∝ u is in the hull, so check on the hull:
    const partial = rows.map((g) =>
      dot(
        g,
        g0.map((x, i) => x + u[i]!),
      ),
    );
    const least = Math.min(...partial);
    // Every task whose partial derivative exceeds the least one must have weight 0: g_w (∝ u) must then lie
    // in the cone of the tasks at the least value. Solve u = Σ_{t active} β_t g_t, β ≥ 0.
    const active = partial.flatMap((p, t) => (p - least < 1e-4 * Math.max(1, Math.abs(least)) ? [t] : []));
    assert.ok(active.length >= 1);
    if (active.length === K) return;
    // With inactive tasks, u must be a non-negative combination of the active gradients.
    const A = active.map((s) => active.map((t) => dot(rows[s]!, rows[t]!)));
    const rhs = active.map((s) => dot(rows[s]!, u));
    const { solveLinear } = await import('../src/weighting/linalg.js');
    const beta = solveLinear(A, rhs);
    assert.ok(
      beta.every((x) => x >= -1e-6),
      `β ${beta.join(', ')}`,
    );
  });

  it('imtl: the update has equal projections on every task direction (with and without loss scales)', async () => {
    const rows = [
      [1, 0.2, 0],
      [-0.5, 2, 0.1],
      [0.3, 0.3, 0.5],
    ];
    for (const lossScale of [false, true]) {
      const w = await strategy('imtl', { lossScale }, 3);
      const d = updateOf(w, rows, stepOf(0, [0.5, 0.4, 0.3])).shared;
      const projections = rows.map((g) => dot(d, g) / Math.sqrt(dot(g, g)));
      near(projections, [projections[0]!, projections[0]!, projections[0]!], 1e-4, `lossScale ${lossScale}`);
      assert.ok(projections[0]! > 0);
    }
  });

  it('imtl: a task whose gradient is zero (its triplets all met the margin) is left out, not a NaN', async () => {
    const rows = [
      [1, 0.2, 0],
      [0, 0, 0],
      [-0.5, 2, 0.1],
    ];
    const d = updateOf(await strategy('imtl', { lossScale: false }, 3), rows).shared;
    assert.ok(d.every(Number.isFinite), d.join(', '));
    const [a, , c] = rows.map((g) => dot(d, g) / Math.sqrt(dot(g, g) || 1));
    near([a!], [c!], 1e-4);
  });

  it('nash-mtl: α solves α_t (Gα)_t = 1 on the normalised Gram matrix; the update is Σ α g clipped', async () => {
    const rows = [
      [1, 0.2, 0],
      [-0.3, 2, 0.1],
      [0.2, 0.3, 0.7],
    ];
    const w = await strategy('nash-mtl', { maxNorm: 0 }, 3);
    const { shared, taskWeights: alpha } = updateOf(w, rows);
    const G = rows.map((a) => rows.map((b) => dot(a, b)));
    const frobenius = Math.sqrt(G.flat().reduce((s, x) => s + x * x, 0));
    for (let t = 0; t < 3; t++) {
      const Ga = G[t]!.reduce((s, x, j) => s + (x / frobenius) * alpha[j]!, 0);
      near([alpha[t]! * Ga], [1], 1e-5, `task ${t}`);
    }
    near(
      shared,
      rows[0]!.map((_, i) => rows.reduce((s, r, t) => s + alpha[t]! * r[i]!, 0)),
      1e-5,
    );
    const clipped = updateOf(await strategy('nash-mtl', { maxNorm: 0.5 }, 3), rows).shared;
    near([Math.sqrt(dot(clipped, clipped))], [0.5], 1e-5);
    near(
      clipped.map((x) => x / 0.5),
      shared.map((x) => x / Math.sqrt(dot(shared, shared))),
      1e-4,
    );
  });

  it('aligned-mtl: the aligned gradients have condition number 1, and the update is their sum', async () => {
    const rows = [
      [2, 0.2, 0],
      [-0.3, 1, 0.1],
      [0.2, 0.3, 0.5],
    ];
    const { alignment } = await import('../plugins/weighting/aligned-mtl.js');
    const G = rows.map((a) => rows.map((b) => dot(a, b)));
    const B = alignment(G, 3);
    // Aligned gradients: row i is Σ_t B[i][t] g_t; their Gram matrix B G Bᵀ must be λ_min · I.
    const aligned = B.map((b) => rows[0]!.map((_, e) => b.reduce((s, x, t) => s + x * rows[t]![e]!, 0)));
    const gram = aligned.map((a) => aligned.map((b) => dot(a, b)));
    const { symmetricEigen } = await import('../src/weighting/linalg.js');
    const eig = symmetricEigen(gram).values;
    near([eig[0]! / eig[2]!], [1], 1e-6, 'condition number');
    const sum = rows[0]!.map((_, e) => aligned.reduce((s, a) => s + a[e]!, 0));
    near(updateOf(await strategy('aligned-mtl', {}, 3), rows).shared, sum, 1e-4);
  });

  it('db-mtl: EMA of log-loss gradients, each scaled to the largest norm (float64 loop)', async () => {
    const w = await strategy('db-mtl', {}, 2);
    const rows = [
      [
        [1, 0],
        [0, 3],
      ],
      [
        [2, 1],
        [0.5, 1],
      ],
      [
        [0, 1],
        [1, 0],
      ],
    ];
    const losses = [
      [0.5, 2],
      [0.4, 1],
      [0.3, 0.8],
    ];
    let buffer = [
      [0, 0],
      [0, 0],
    ];
    rows.forEach((g, step) => {
      const batch = g.map((r, t) => r.map((x) => x / (losses[step]![t]! + 1e-8)));
      buffer = batch.map((r, t) => r.map((x, i) => x + 0.9 * (buffer[t]![i]! - x)));
      const norms = buffer.map((r) => Math.sqrt(dot(r, r)));
      const alpha = norms.map((n) => Math.max(...norms) / (n + 1e-8));
      const expected = [0, 1].map((i) => alpha[0]! * buffer[0]![i]! + alpha[1]! * buffer[1]![i]!);
      const got = updateOf(w, g, stepOf(step, losses[step]!));
      near(got.shared, expected, 1e-5, `step ${step}`);
      near(
        [...got.taskWeights],
        losses[step]!.map((l) => 1 / (l + 1e-8)),
        1e-9,
      );
    });
    tf.dispose(w.state!().tensors!.map((t) => t.tensor));
  });
});
