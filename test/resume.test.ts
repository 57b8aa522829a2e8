/**
 * Exact resume (issue #10, defects 1, 2, 6, 7): a run interrupted by a signal and resumed ends with the
 * weights and metrics records of an uninterrupted one, with every optimiser; the state that makes this
 * so is the optimiser's own, saved whole; checkpoints refuse edits; hooks carry state across a resume.
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readCheckpointMetadata } from '../src/engine/checkpoint.js';
import type { TrainerHook } from '../src/engine/hooks.js';
import { evaluateRun, resumeRun, trainRun } from '../src/engine/run.js';
import { RunDir } from '../src/engine/run-dir.js';
import { InterruptedError, type TrainSummary } from '../src/engine/trainer.js';
import { Kernel } from '../src/kernel/kernel.js';
import * as tf from '../src/tf.js';
import { createOptimizer, optimizerSchema } from '../src/train/optimizers.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { runCli } from './helpers/cli.js';
import { comparableRecords } from './helpers/records.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';

async function lastWeightsHash(runDir: string): Promise<string> {
  const json = JSON.parse(
    await fs.readFile(path.join(runDir, 'checkpoints', 'last', 'model.json'), 'utf8'),
  ) as { userDefinedMetadata: { weightsSha256: string } };
  return json.userDefinedMetadata.weightsSha256;
}

/** An afterStep hook that aborts `controller` (as SIGINT would) once `step` updates are done. */
function abortAt(step: number, controller: AbortController, signal = 'SIGINT'): TrainerHook {
  return {
    name: 'abort',
    afterStep: (record) => {
      if (record.step === step) controller.abort(signal);
    },
  };
}

describe('durable runs: exact resume', function () {
  this.timeout(300_000);
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => workspace.cleanup());

  const OPTIMIZERS = {
    adam: '{ type: adam, lr: 0.003 }',
    adamw: '{ type: adamw, lr: 0.003, weightDecay: 0.05 }',
    'sgd+momentum': '{ type: sgd, lr: 0.05, momentum: 0.9, nesterov: true }',
    adagrad: '{ type: adagrad, lr: 0.05 }',
  };
  for (const [label, optimizer] of Object.entries(OPTIMIZERS)) {
    it(`${label}: interrupted by a signal and resumed equals an uninterrupted run (weights, records)`, async () => {
      const config = smallConfig({
        steps: 6,
        extra: `  optimizer: ${optimizer}\n  evalEvery: 3\n  flip: true\n  probe: { every: 2, tripletsPerTask: 4 }\n`,
      });
      const straight = await loadSmall(path.join(workspace.dir, 'a'), config);
      const full = await trainRun(straight.kernel, straight.loaded, {
        outputDir: workspace.dir,
        name: 'full',
      });

      const broken = await loadSmall(path.join(workspace.dir, 'b'), config);
      const controller = new AbortController();
      const stopped = await trainRun(broken.kernel, broken.loaded, {
        outputDir: workspace.dir,
        name: 'stopped',
        hooks: [abortAt(4, controller)],
        signal: controller.signal,
      }).catch((error: unknown) => error);
      assert.ok(stopped instanceof InterruptedError, String(stopped));
      assert.equal(stopped.exitCode, 130);
      const dir = path.join(workspace.dir, 'stopped');
      assert.match(
        stopped.message,
        new RegExp(`after step 4/6; saved .*last; resume with: mtlzoo train --resume ${dir}`),
      );
      // `last` was written at the interrupted step, not only at the schedule's.
      assert.equal((await readCheckpointMetadata(path.join(dir, 'checkpoints', 'last'))).step, 4);

      const resumed = await resumeRun(broken.kernel, dir);
      assert.equal(resumed.weightsSha256, full.weightsSha256);
      assert.equal(await lastWeightsHash(dir), await lastWeightsHash(full.runDir));
      assert.deepEqual(
        comparableRecords(await new RunDir(dir).readMetrics()),
        comparableRecords(await new RunDir(full.runDir).readMetrics()),
      );
    });
  }

  it("owns the optimiser state: tfjs's Adam resumed through setWeights drifts, this one does not", async () => {
    const config = { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
    const gradients = Array.from({ length: 40 }, (_, i) =>
      tf.tensor1d([Math.sin(i), Math.cos(3 * i), 0.1 * i]),
    );
    const run = (step: (x: tf.Variable, g: tf.Tensor) => void, x: tf.Variable, from: number, to: number) => {
      for (let i = from; i < to; i++) step(x, gradients[i]!);
    };
    const fresh = (name: string) => tf.variable(tf.zeros([3]), true, name);

    // Uninterrupted and resumed after 5 of 40 updates (float32 0.999^6 by pow and by products differ).
    const straightX = fresh('straight');
    const straight = createOptimizer(config);
    run((x, g) => straight.applyGradients({ [x.name]: g }), straightX, 0, 40);
    const firstX = fresh('first');
    const first = createOptimizer(config);
    run((x, g) => first.applyGradients({ [x.name]: g }), firstX, 0, 5);
    const saved = first.state(new Map([[firstX.name, 'x']]));
    const copies = saved.tensors.map((t) => ({ name: t.name, tensor: t.tensor.clone() }));
    const second = createOptimizer(config);
    second.restore({ step: saved.step, tensors: copies }, new Map([['x', firstX]]));
    run((x, g) => second.applyGradients({ [x.name]: g }), firstX, 5, 40);
    assert.deepEqual(Array.from(firstX.dataSync()), Array.from(straightX.dataSync()));

    // The same through tfjs's AdamOptimizer.getWeights/setWeights, which recomputes beta^t with pow.
    const tfStraightX = fresh('tf-straight');
    const tfStraight = tf.train.adam(config.lr, config.beta1, config.beta2, config.epsilon);
    run((x, g) => tfStraight.applyGradients([{ name: x.name, tensor: g }]), tfStraightX, 0, 40);
    const tfX = fresh('tf-first');
    const tfFirst = tf.train.adam(config.lr, config.beta1, config.beta2, config.epsilon);
    run((x, g) => tfFirst.applyGradients([{ name: x.name, tensor: g }]), tfX, 0, 5);
    const tfSecond = tf.train.adam(config.lr, config.beta1, config.beta2, config.epsilon);
    await tfSecond.setWeights(await tfFirst.getWeights());
    run((x, g) => tfSecond.applyGradients([{ name: x.name, tensor: g }]), tfX, 5, 40);
    // Same arithmetic as tfjs uninterrupted, bit for bit …
    assert.deepEqual(Array.from(straightX.dataSync()), Array.from(tfStraightX.dataSync()));
    // … while tfjs's own resume lands elsewhere.
    assert.notDeepEqual(Array.from(tfX.dataSync()), Array.from(tfStraightX.dataSync()));
    tf.dispose([...gradients, ...copies.map((c) => c.tensor), straightX, firstX, tfStraightX, tfX]);
    [straight, first, second, tfStraight, tfFirst, tfSecond].forEach((o) => o.dispose());
  });

  it('AdamW: decoupled weight decay as PyTorch, checked against float64 loops', () => {
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.1];
    const optimizer = createOptimizer(
      optimizerSchema.parse({ type: 'adamw', lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd }),
    );
    const start = [1, -2, 3];
    const grads = [
      [0.5, -1, 2],
      [0.1, 0.3, -0.2],
      [-0.4, 0.2, 0.6],
    ];
    const x = tf.variable(tf.tensor1d(start), true, 'adamw-x');
    const expected = [...start];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    grads.forEach((g, t) => {
      const gt = tf.tensor1d(g);
      optimizer.applyGradients({ [x.name]: gt });
      gt.dispose();
      for (let i = 0; i < 3; i++) {
        expected[i]! *= 1 - lr * wd;
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
        const mHat = m[i]! / (1 - b1 ** (t + 1));
        const vHat = v[i]! / (1 - b2 ** (t + 1));
        expected[i]! -= (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    });
    Array.from(x.dataSync()).forEach((value, i) =>
      assert.ok(Math.abs(value - expected[i]!) < 1e-6, `x[${i}] ${value} != ${expected[i]}`),
    );
    x.dispose();
    optimizer.dispose();
  });

  it('keeps the tensor count flat over steps that write `last`', async () => {
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ steps: 8, extra: '  optimizer: { type: adam }\n  checkpointEvery: 1\n' }),
    );
    const counts: number[] = [];
    await trainRun(kernel, loaded, {
      outputDir: workspace.dir,
      hooks: [{ name: 'count', afterStep: () => void counts.push(tf.memory().numTensors) }],
    });
    // Hooks run before the checkpoint of their step: from the second step on every count follows a save.
    assert.equal(new Set(counts.slice(1)).size, 1, `tensor counts ${counts.join(' ')}`);
  });

  it('a finished run resumed says so and changes nothing; a run stopped before any checkpoint starts over', async () => {
    const { kernel, loaded } = await loadSmall(workspace.dir, smallConfig({ steps: 3 }));
    void kernel;
    const summary = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'done' });
    const run = new RunDir(summary.runDir);
    const before = await Promise.all(
      [run.path('metrics'), run.path('summary')].map((f) => fs.readFile(f, 'utf8')),
    );
    const { code, log } = await runCli('train', '--resume', summary.runDir);
    assert.equal(code, 0, log);
    assert.match(log, /has finished \(3 steps, tested at step 3\); nothing to resume/);
    const after = await Promise.all(
      [run.path('metrics'), run.path('summary')].map((f) => fs.readFile(f, 'utf8')),
    );
    assert.deepEqual(after, before);

    // Killed before its first checkpoint: only the config and some records exist.
    await fs.rm(run.path('summary'));
    await fs.rm(path.join(summary.runDir, 'checkpoints'), { recursive: true });
    const logger = createMemoryLogger();
    const again = await resumeRun(new Kernel({ logger }), summary.runDir);
    assert.match(
      logger.lines.join('\n'),
      /no checkpoint was written before the run stopped; training it from step 0/,
    );
    assert.equal(again.weightsSha256, summary.weightsSha256);
    assert.deepEqual(
      comparableRecords(await run.readMetrics()),
      comparableRecords(
        before[0]!
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      ),
    );
  });

  it('stateful and reducing hooks: state restored exactly, per-task gradients consistent with the update', async () => {
    // Validation makes `best` (model weights only) the tested checkpoint, so hashes compare the models.
    const config = smallConfig({
      steps: 4,
      extra: '  optimizer: { type: adam }\n  checkpointEvery: 1\n  evalEvery: 2\n',
    });
    // A hook whose state is a tensor and a value, changed at every step (as a weighting strategy's would be).
    const seen: { step: number; total: number }[] = [];
    const stateful = (): TrainerHook => {
      let total = 0;
      let weights = tf.keep(tf.ones([3]));
      return {
        name: 'stateful',
        needsTaskGradients: true,
        afterBackward(pass) {
          // Σ_t ∇L_t / T over tasks is the gradient of the equal-weighted objective.
          for (const name of pass.shared) {
            const sum = tf.tidy(() =>
              tf.div(tf.addN(pass.taskGradients!.map((g) => g[name]!)), pass.taskGradients!.length),
            );
            const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(sum, pass.grads[name]!))).dataSync()[0]!);
            const scale = tf.tidy(() => tf.max(tf.abs(pass.grads[name]!)).dataSync()[0]!);
            sum.dispose();
            assert.ok(diff <= 1e-5 * Math.max(scale, 1e-3), `${name}: |Σ∇L_t/T − ∇L| = ${diff}`);
          }
          total += pass.taskLosses.reduce((a, b) => a + b, 0);
          const next = tf.tidy(() => tf.add(weights, tf.tensor1d([...pass.taskLosses])));
          weights.dispose();
          weights = tf.keep(next);
        },
        reduceGradients: (shared) => shared,
        afterStep(record) {
          seen.push({ step: record.step, total: total + weights.dataSync()[0]! });
        },
        state: () => ({ values: { total }, tensors: [{ name: 'weights', tensor: weights }] }),
        restore(state) {
          total = (state.values as { total: number }).total;
          weights.dispose();
          weights = tf.keep(state.tensors![0]!.tensor.clone());
        },
      };
    };
    const straight = await loadSmall(path.join(workspace.dir, 'a'), config);
    const plain = await trainRun(straight.kernel, straight.loaded, {
      outputDir: workspace.dir,
      name: 'plain',
    });
    const withHook = await trainRun(straight.kernel, straight.loaded, {
      outputDir: workspace.dir,
      name: 'hooked',
      hooks: [stateful()],
    });
    // Extra per-task passes leave no trace (BatchNorm statistics restored), and a pass-through reduction
    // applies the same update.
    assert.equal(withHook.weightsSha256, plain.weightsSha256);
    const uninterrupted = seen.splice(0);

    const controller = new AbortController();
    await assert.rejects(
      trainRun(straight.kernel, straight.loaded, {
        outputDir: workspace.dir,
        name: 'split',
        hooks: [stateful(), abortAt(2, controller)],
        signal: controller.signal,
      }),
      InterruptedError,
    );
    await resumeRun(straight.kernel, path.join(workspace.dir, 'split'), { hooks: [stateful()] });
    assert.deepEqual(seen, uninterrupted);
  });

  it('checkpoints refuse an edited step or task list (integrity sha256)', async () => {
    const { kernel, loaded } = await loadSmall(workspace.dir, smallConfig({ steps: 2 }));
    const summary: TrainSummary = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'run' });
    const modelJson = path.join(summary.runDir, 'checkpoints', 'last', 'model.json');
    const original = await fs.readFile(modelJson, 'utf8');
    const edited = (change: (metadata: { step: number; tasks: string[] }) => void) => {
      const json = JSON.parse(original) as { userDefinedMetadata: { step: number; tasks: string[] } };
      change(json.userDefinedMetadata);
      return JSON.stringify(json, null, 1);
    };
    for (const edit of [
      edited((m) => (m.step = 1)),
      edited((m) => (m.tasks = [m.tasks[1]!, m.tasks[0]!, m.tasks[2]!])),
    ]) {
      await fs.writeFile(modelJson, edit);
      const { code, log } = await runCli('eval', summary.runDir, '--checkpoint', 'last');
      assert.equal(code, 1);
      assert.match(
        log,
        /model\.json does not match its integrity sha256: its step, tasks, tensors or state were edited or damaged/,
      );
    }
    await fs.writeFile(modelJson, original);
    assert.equal((await evaluateRun(kernel, summary.runDir, 'test', 'last')).step, 2);
  });
});
