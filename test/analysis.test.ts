import { strict as assert } from 'node:assert';
import path from 'node:path';
import {
  GradientProbe,
  gradientStatistics,
  gradientsOf,
  probeCheckpoint,
  probeRecordsOf,
  type PairStats,
} from '../src/analysis/probe.js';
import {
  compareWithFactors,
  modelRelatedness,
  perTaskStages,
  runRelatedness,
} from '../src/analysis/relatedness.js';
import { loadCheckpoint } from '../src/engine/checkpoint.js';
import { normalisedEmbeddings } from '../src/engine/embedding.js';
import { pixelsToTensor } from '../src/engine/pixels.js';
import { trainRun } from '../src/engine/run.js';
import { RunDir } from '../src/engine/run-dir.js';
import type { StepRecord, TrainSummary } from '../src/engine/trainer.js';
import type { Experiment } from '../src/kernel/kernel.js';
import * as tf from '../src/tf.js';
import { runCli } from './helpers/cli.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';

/** Plain float64 loops, independent of src/metrics/gradients.ts. */
function plainCosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / (Math.sqrt(aa) * Math.sqrt(bb));
}

function plainStats(vectors: readonly Float64Array[]): { cosine: number[][]; meanAngle: number } {
  const cosine = vectors.map((a) => vectors.map((b) => plainCosine(a, b)));
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++) {
      sum += (Math.acos(Math.min(1, Math.max(-1, cosine[i]![j]!))) * 180) / Math.PI;
      pairs += 1;
    }
  }
  return { cosine, meanAngle: sum / pairs };
}

function assertClose(actual: PairStats, expected: { cosine: number[][]; meanAngle: number }, what: string) {
  actual.cosine.forEach((row, i) =>
    row.forEach((v, j) =>
      assert.ok(Math.abs(v - expected.cosine[i]![j]!) < 1e-9, `${what} cos[${i}][${j}] ${v}`),
    ),
  );
  assert.ok(Math.abs(actual.meanAngle - expected.meanAngle) < 1e-6, `${what} angle ${actual.meanAngle}`);
}

const PROBED = '  probe: { every: 2, tripletsPerTask: 4 }\n';

describe('analysis', function () {
  this.timeout(120_000);
  let workspace: ReturnType<typeof tempDir>;
  /** One probed modulation run shared by the tests that only read it. */
  let probed: TrainSummary;
  let probedLosses: number[];

  before(async () => {
    workspace = tempDir();
    const { kernel, loaded } = await loadSmall(
      path.join(workspace.dir, 'cfg', 'probed'),
      smallConfig({ extra: PROBED }),
    );
    probedLosses = [];
    probed = await trainRun(kernel, loaded, {
      outputDir: workspace.dir,
      name: 'probed',
      hooks: [{ name: 'record', afterStep: (r: StepRecord) => void probedLosses.push(r.loss) }],
    });
  });
  after(() => workspace.cleanup());

  async function experiment(method = 'modulation'): Promise<Experiment> {
    const { kernel, loaded } = await loadSmall(
      path.join(workspace.dir, 'cfg', `x-${method.replace(/\W+/g, '-')}`),
      smallConfig({ method }),
    );
    return kernel.build(loaded);
  }

  describe('gradient probe', () => {
    it('aggregates per layer and over all shared parameters as plain loops over the real gradients do', async () => {
      const built = await experiment();
      try {
        const probe = new GradientProbe(built);
        const before = tf.memory().numTensors;
        const gradients = await probe.gradients();
        await probe.measure(3);
        assert.equal(tf.memory().numTensors, before, 'tensors leaked by the probe');
        assert.deepEqual(probe.settings, { every: 0, tripletsPerTask: 8, split: 'val', mining: 'hard' });

        const sharedNames = built.model
          .parameters()
          .filter((p) => p.trainable && p.owner === 'shared')
          .map((p) => p.name);
        assert.deepEqual(gradients.names, sharedNames);
        assert.equal(gradients.values.length, 3);
        const stats = gradientStatistics(gradients);
        // Taken in two halves per task: the task's gradient is their sum (exact in float64 here; the
        // float32 `values` agree to rounding), and `within` is the cosine between the halves.
        const [a, b] = gradients.halves!;
        const sum = (t: number, v: number) => Float64Array.from(a[t]![v]!, (x, i) => x + b[t]![v]![i]!);
        gradients.values.forEach((task, t) =>
          task.forEach((g, v) => g.forEach((x, i) => assert.equal(x, Math.fround(sum(t, v)[i]!)))),
        );
        gradients.names.forEach((name, v) =>
          assertClose(stats.layers[name]!, plainStats(gradients.values.map((_, t) => sum(t, v))), name),
        );
        const flat = (parts: readonly ArrayLike<number>[]) =>
          Float64Array.from(parts.flatMap((g) => Array.from(g)));
        const concatenated = gradients.values.map((task, t) => flat(task.map((_, v) => sum(t, v))));
        assertClose(stats.all, plainStats(concatenated), 'all');
        concatenated.forEach((g, t) => {
          const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
          assert.ok(norm > 0, `task ${t} has a zero gradient`);
          assert.ok(Math.abs(stats.all.norm[t]! - norm) < 1e-9 * norm);
        });
        const within = a.map((task, t) => plainCosine(flat(task), flat(b[t]!)));
        within.forEach((c, t) => assert.ok(Math.abs(stats.all.within![t]! - c) < 1e-9, `within ${t}`));
        const meanWithin = within.reduce((s, c) => s + (Math.acos(c) * 180) / Math.PI, 0) / within.length;
        assert.ok(Math.abs(stats.all.withinAngle! - meanWithin) < 1e-6);
        assert.equal(gradients.active.length, 3);
        gradients.active.forEach((n) => assert.ok(n >= 0 && n <= 8));
      } finally {
        built.dispose();
      }
    });

    it('probes fixed triplets of the chosen split, and hard mining keeps at least as many of them active', async () => {
      const active: Record<string, readonly number[]> = {};
      for (const mining of ['none', 'hard'] as const) {
        const { kernel, loaded } = await loadSmall(
          path.join(workspace.dir, 'cfg', `mining-${mining}`),
          smallConfig({
            extra: `  probe: { every: 0, tripletsPerTask: 12, mining: ${mining}, split: train }\n`,
          }),
        );
        const built = await kernel.build(loaded);
        try {
          const probe = new GradientProbe(built);
          const first = await probe.measure(1);
          // The same triplets at every step: an unchanged model gives the same record.
          assert.deepEqual(await probe.measure(2), { ...first, step: 2 });
          assert.equal(first.split, 'train');
          assert.equal(first.mining, mining);
          active[mining] = first.active!;
        } finally {
          built.dispose();
        }
      }
      // The triplet's own negative is always a candidate, so the hardest one violates the margin whenever
      // the drawn one does.
      active.hard!.forEach((n, t) =>
        assert.ok(n >= active.none![t]!, `task ${t}: ${n} < ${active.none![t]}`),
      );
    });

    it('gives cosine exactly 1 for identical objectives and −1 for a negated one, per layer and overall', async () => {
      const built = await experiment();
      try {
        const { dataset, model, loss } = built;
        const shared = model.parameters().filter((p) => p.trainable && p.owner === 'shared');
        const images = pixelsToTensor(
          await dataset.splits.train.pixels(Array.from({ length: 24 }, (_, i) => i)),
          dataset.imageShape,
        );
        const objective = () => {
          const e = normalisedEmbeddings(model, images, new Int32Array(24), { training: false });
          const part = (k: number) => tf.slice(e, [k * 8, 0], [8, -1]) as tf.Tensor2D;
          return tf.mean(loss.compute(part(0), part(1), part(2))) as tf.Scalar;
        };
        const variables = shared.map((p) => p.variable);
        const values = [
          await gradientsOf(objective, variables),
          await gradientsOf(objective, variables),
          await gradientsOf(() => tf.neg(objective()), variables),
        ];
        images.dispose();
        const stats = gradientStatistics({ names: shared.map((p) => p.name), values });
        for (const [what, s] of [['all', stats.all], ...Object.entries(stats.layers)] as const) {
          if (s.norm[0] === 0) continue;
          assert.equal(s.cosine[0]![1], 1, `${what}: identical objectives`);
          assert.equal(s.cosine[0]![2], -1, `${what}: negated objective`);
        }
        assert.ok(stats.all.norm[0]! > 0, 'the objective must reach the shared weights');
        // Pairs: (0,1) 0°, (0,2) 180°, (1,2) 180°.
        assert.ok(Math.abs(stats.all.meanAngle - 120) < 1e-9, `mean angle ${stats.all.meanAngle}`);
      } finally {
        built.dispose();
      }
    });

    it('does not change training, logs a record every N steps, and matches an on-demand probe of the checkpoint', async () => {
      const { kernel, loaded } = await loadSmall(path.join(workspace.dir, 'cfg', 'plain'), smallConfig());
      const losses: number[] = [];
      const plain = await trainRun(kernel, loaded, {
        outputDir: workspace.dir,
        name: 'plain',
        hooks: [{ name: 'record', afterStep: (r: StepRecord) => void losses.push(r.loss) }],
      });
      assert.deepEqual(probedLosses, losses);
      assert.equal(probed.weightsSha256, plain.weightsSha256);
      const quality = (s: TrainSummary) => s.test.filter((m) => !m.name.startsWith('time.'));
      assert.deepEqual(quality(probed), quality(plain));

      const records = probeRecordsOf(await new RunDir(probed.runDir).readMetrics());
      assert.deepEqual(
        records.map((r) => r.step),
        [2, 4, 6],
      );
      assert.deepEqual(records[0]!.tasks, ['colour', 'shape', 'position']);
      const now = await probeCheckpoint(kernel, probed.runDir, 'last');
      assert.deepEqual(now, records[2]);
    });
  });

  describe('analyze gradients', () => {
    it('summarises the log as JSON and text, and refuses steps that were not probed', async () => {
      const json = await runCli('analyze', 'gradients', probed.runDir, '--json');
      assert.equal(json.code, 0, json.log);
      const summary = JSON.parse(json.stdout) as {
        steps: number[];
        meanAngle: { all: number[]; layers: Record<string, number[]> };
        withinAngle: number[];
        active: number[][];
        cosine: { step: number; matrix: number[][] }[];
      };
      const records = probeRecordsOf(await new RunDir(probed.runDir).readMetrics());
      assert.deepEqual(summary.steps, [2, 4, 6]);
      assert.deepEqual(
        summary.meanAngle.all,
        records.map((r) => r.all.meanAngle),
      );
      assert.deepEqual(
        summary.cosine.map((c) => c.step),
        [2, 6],
      );
      assert.ok(Object.keys(summary.meanAngle.layers).includes('trunk/conv1/conv/kernel'));
      assert.deepEqual(
        summary.withinAngle,
        records.map((r) => r.all.withinAngle),
      );
      assert.deepEqual(
        summary.active,
        records.map((r) => r.active),
      );

      const text = await runCli('analyze', 'gradients', probed.runDir, '--steps', '4');
      assert.equal(text.code, 0, text.log);
      assert.match(text.stdout, /all shared parameters\s+\d/);
      assert.match(text.stdout, /all shared parameters, within one task\s+\d/);
      assert.match(
        text.stdout,
        /Probe triplets with a positive loss at step 6: colour \d\/4, shape \d\/4, position \d\/4\./,
      );
      assert.match(text.stdout, /cosine of the gradients over all shared parameters, step 4:/);

      const missing = await runCli('analyze', 'gradients', probed.runDir, '--steps', '3');
      assert.equal(missing.code, 2);
      assert.match(missing.log, /step\(s\) 3 were not probed; probed steps: 2, 4, 6/);
    });

    it('says how to get probe records when a run has none, and probes a checkpoint on demand', async () => {
      const { kernel, loaded } = await loadSmall(
        path.join(workspace.dir, 'cfg', 'bare'),
        smallConfig({ steps: 2 }),
      );
      const bare = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'bare' });
      const none = await runCli('analyze', 'gradients', bare.runDir);
      assert.equal(none.code, 2);
      assert.match(none.log, /no probe records: train with train\.probe\.every > 0, or .* --checkpoint last/);
      const now = await runCli('analyze', 'gradients', bare.runDir, '--checkpoint', 'last');
      assert.equal(now.code, 0, now.log);
      assert.match(now.stdout, /a probe of the checkpoint at step 2/);
      // A larger probe set than the config's (probe.tripletsPerTask defaults to 8), drawn the same way.
      const larger = await runCli(
        'analyze',
        'gradients',
        bare.runDir,
        '--checkpoint',
        'last',
        '--triplets',
        '12',
        '--json',
      );
      assert.equal(larger.code, 0, larger.log);
      const summary = JSON.parse(larger.stdout) as { tripletsPerTask: number; active: number[][] };
      assert.equal(summary.tripletsPerTask, 12);
      for (const count of summary.active[0]!) assert.ok(count <= 12, `${count} active of 12`);
      const alone = await runCli('analyze', 'gradients', bare.runDir, '--triplets', '12');
      assert.equal(alone.code, 2);
      assert.match(alone.log, /--triplets sets the size of a probe made now: use it with --checkpoint/);
    });
  });

  describe('relatedness', () => {
    it('is symmetric with ones on the diagonal and equals a plain cosine of ReLU(M[t]) per stage', async () => {
      const result = await runRelatedness(
        (await loadSmall(path.join(workspace.dir, 'cfg', 'rel'), smallConfig())).kernel,
        probed.runDir,
      );
      assert.deepEqual(
        result.stages.map((s) => s.stage),
        ['modulation/conv1', 'modulation/conv2', 'modulation/embedding'],
      );
      const built = await experiment();
      try {
        // Load the same checkpoint into a fresh model and recompute by hand.
        await loadCheckpoint(result.checkpoint, built.model.parameters());
        for (const stage of result.stages) {
          assert.ok(stage.rectified);
          const rows = await Promise.all(
            [0, 1, 2].map(async (t) =>
              Float64Array.from(
                await built.model
                  .parameters()
                  .find((p) => p.name === `${stage.stage}/task${t}`)!
                  .variable.data(),
                (v) => Math.max(0, v),
              ),
            ),
          );
          stage.matrix.forEach((row, i) =>
            row.forEach((v, j) => {
              assert.equal(v, stage.matrix[j]![i], `${stage.stage}: symmetric`);
              if (i === j) assert.equal(v, 1);
              else assert.ok(Math.abs(v - plainCosine(rows[i]!, rows[j]!)) < 1e-12);
              assert.ok(v >= 0 && v <= 1, 'rectified vectors have non-negative cosines');
            }),
          );
          // Modulation vectors start at ones (the authors' initialisation), so each move is ReLU(v) − 1.
          const moves = rows.map((row) => row.map((v) => v - 1));
          const change = stage.change!;
          moves.forEach((move, t) => {
            const norm = Math.sqrt(move.reduce((sum, d) => sum + d * d, 0));
            assert.ok(norm > 1e-3, `${stage.stage}: task ${t} moved in training`);
            assert.ok(Math.abs(change.norms[t]! - norm) < 1e-9, `${stage.stage}: task ${t} moved ${norm}`);
          });
          change.matrix.forEach((row, i) =>
            row.forEach((v, j) =>
              assert.ok(
                Math.abs(v - (i === j ? 1 : plainCosine(moves[i]!, moves[j]!))) < 1e-9,
                `${stage.stage}: cosine of moves [${i}][${j}] ${v}`,
              ),
            ),
          );
        }
      } finally {
        built.dispose();
      }
    });

    it('measures moves from the initial values the run itself started from (random CSN masks)', async () => {
      // With a learning rate this small the masks cannot move measurably: a rebuilt model initialised other
      // than the run was would show moves of the order of the masks themselves.
      const { kernel, loaded } = await loadSmall(
        path.join(workspace.dir, 'cfg', 'still'),
        smallConfig({ method: 'csn', steps: 3, extra: '  optimizer: { type: adam, lr: 1.0e-9 }\n' }),
      );
      const still = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'still' });
      const result = await runRelatedness(kernel, still.runDir);
      const [masks] = result.stages;
      assert.equal(masks?.stage, 'csn/mask');
      assert.equal(masks.change?.norms.length, 3);
      for (const norm of masks.change.norms) assert.ok(norm < 1e-6, `moved ${norm}`);
    });

    it('finds per-task stages in modulation, csn, cross-stitch and shared heads, and none in separate', async () => {
      const expected: Record<string, string[]> = {
        separate: [],
        '{ name: shared, options: { heads: true } }': ['heads/kernel', 'heads/bias'],
        csn: ['csn/mask'],
        'cross-stitch': ['cross-stitch/conv1', 'cross-stitch/conv2'],
      };
      for (const [method, stages] of Object.entries(expected)) {
        const built = await experiment(method);
        try {
          const found = await modelRelatedness(built.model);
          assert.deepEqual(
            found.map((s) => s.stage),
            stages,
            method,
          );
          assert.equal(perTaskStages(built.model.parameters(), 3).length, stages.length);
        } finally {
          built.dispose();
        }
      }
      // Only the variables a method uses through ReLU are compared rectified.
      const rectifiedBy = async (method: string) => {
        const built = await experiment(method);
        try {
          return (await modelRelatedness(built.model)).map((s) => s.rectified);
        } finally {
          built.dispose();
        }
      };
      assert.deepEqual(await rectifiedBy('csn'), [true]);
      assert.deepEqual(await rectifiedBy('cross-stitch'), [false, false]);
    });

    it('compares pairs that share a generating factor with the others', () => {
      const tasks = [
        { name: 'colour', factors: ['colour'] },
        { name: 'warmth', factors: ['colour'] },
        { name: 'shape', factors: ['shape'] },
      ];
      const matrix = [
        [1, 0.9, 0.5],
        [0.9, 1, 0.3],
        [0.5, 0.3, 1],
      ];
      assert.deepEqual(compareWithFactors(matrix, tasks), {
        sharing: { pairs: ['colour~warmth'], mean: 0.9 },
        other: { pairs: ['colour~shape', 'warmth~shape'], mean: 0.4 },
      });
      assert.equal(
        compareWithFactors(
          matrix,
          tasks.map((t) => ({ ...t, factors: [] })),
        ),
        undefined,
      );
    });

    it('analyze relatedness prints the matrices, or says there is nothing to compare', async () => {
      const json = await runCli('analyze', 'relatedness', probed.runDir, '--json');
      assert.equal(json.code, 0, json.log);
      const parsed = JSON.parse(json.stdout) as { tasks: string[]; stages: { stage: string }[] };
      assert.deepEqual(parsed.tasks, ['colour', 'shape', 'position']);
      assert.equal(parsed.stages.length, 3);
      const text = await runCli('analyze', 'relatedness', probed.runDir);
      assert.match(text.stdout, /Stage modulation\/embedding \[8\], cosine of ReLU\(v\)/);
      assert.match(
        text.stdout,
        /moved from its initial value by colour \d\.\d{3}, shape \d\.\d{3}, position/,
      );

      const { kernel, loaded } = await loadSmall(
        path.join(workspace.dir, 'cfg', 'sep'),
        smallConfig({ method: 'separate', steps: 1 }),
      );
      const separate = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'separate' });
      const nothing = await runCli('analyze', 'relatedness', separate.runDir);
      assert.equal(nothing.code, 0, nothing.log);
      assert.match(nothing.stdout, /method separate has no per-task variables .* nothing to compare/);
    });
  });
});
