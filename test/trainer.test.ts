import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../src/engine/checkpoint.js';
import type { TestSamples } from '../src/engine/evaluation.js';
import { evaluateRun, resumeRun, trainRun } from '../src/engine/run.js';
import { RunDir } from '../src/engine/run-dir.js';
import type { TrainerHook } from '../src/engine/hooks.js';
import { Trainer, type StepRecord } from '../src/engine/trainer.js';
import type { MtlzooError } from '../src/errors.js';
import * as tf from '../src/tf.js';
import { tempDir } from './helpers/files.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';

async function weightsOf(variables: readonly { name: string; variable: tf.Variable }[]) {
  return Promise.all(
    variables.map(async (v) => ({ name: v.name, data: Array.from(await v.variable.data()) })),
  );
}

describe('trainer', function () {
  this.timeout(240_000);
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => workspace.cleanup());

  it('lowers the loss on a learnable task', async () => {
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ steps: 60, extra: '  optimizer: { type: adam, lr: 0.003 }\n' })
        .replace('tasks: [colour, shape, position]', 'tasks: [colour]')
        .replace('tripletsPerTask: 4', 'tripletsPerTask: 16'),
    );
    const losses: number[] = [];
    const summary = await trainRun(kernel, loaded, {
      outputDir: workspace.dir,
      hooks: [{ name: 'record', afterStep: (r: StepRecord) => void losses.push(r.loss) }],
    });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(
      mean(losses.slice(-8)) < 0.6 * mean(losses.slice(0, 8)),
      `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`,
    );
    const accuracy = summary.test.find((m) => m.name === 'triplet-accuracy' && m.task === undefined)!;
    // Chance is 0.5.
    assert.ok(accuracy.value > 0.7, `test triplet accuracy ${accuracy.value}`);
  });

  it('writes the run directory: resolved config, metrics log, checkpoint, summary', async () => {
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ steps: 4, extra: '  evalEvery: 2\n' }),
    );
    const summary = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'run' });
    const run = new RunDir(summary.runDir);
    assert.match(await fs.readFile(run.path('config'), 'utf8'), new RegExp(`hash ${loaded.hash}`));
    const records = await run.readMetrics();
    assert.deepEqual(
      records.map((r) => `${String(r.type)}${String(r.step)}${r.split ? String(r.split) : ''}`),
      ['train1', 'train2', 'eval2val', 'train3', 'train4', 'eval4val', `eval${summary.testedStep}test`],
    );
    assert.ok(await run.hasCheckpoint('best'));
    assert.ok(await run.hasCheckpoint('last'));
    const written = JSON.parse(await fs.readFile(run.path('summary'), 'utf8')) as {
      weightsSha256: string;
      params: { totalParams: number };
    };
    assert.equal(written.weightsSha256, summary.weightsSha256);
    assert.ok(written.params.totalParams > 0);
    // Per-query test values live in their own file, lined up with the summary's per-task metrics; the
    // log and the summary carry none.
    const samples = JSON.parse(await fs.readFile(run.path('samples'), 'utf8')) as TestSamples;
    assert.equal(samples.step, summary.testedStep);
    const perTask = summary.test.filter((m) => m.task !== undefined && m.name !== 'skipped-queries');
    assert.deepEqual(
      samples.metrics.map((m) => `${m.name}/${m.task}`),
      perTask.map((m) => `${m.name}/${m.task}`),
    );
    for (const { name, task, values } of samples.metrics) {
      const metric = perTask.find((m) => m.name === name && m.task === task)!;
      assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) / values.length - metric.value) < 1e-12, name);
    }
    assert.equal(samples.metrics.find((m) => m.name === 'triplet-accuracy')!.values.length, 60);
    for (const record of records.filter((r) => r.type === 'eval')) {
      assert.ok(!JSON.stringify(record).includes('samples'), 'no samples in the metrics log');
    }
    assert.ok(summary.test.every((m) => m.samples === undefined));
    await assert.rejects(
      trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'run' }),
      /already exists and is not empty/,
    );
    // The saved checkpoint belongs to the saved config: edit the config and evaluation refuses.
    assert.equal((await evaluateRun(kernel, summary.runDir)).step, summary.testedStep);
    const configFile = run.path('config');
    await fs.writeFile(configFile, (await fs.readFile(configFile, 'utf8')).replace('steps: 4', 'steps: 5'));
    await assert.rejects(
      evaluateRun(kernel, summary.runDir),
      /written by config [0-9a-f]{16}, but .*config\.yaml now hashes to/,
    );
  });

  it('keeps the tensor count flat over training steps', async () => {
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ steps: 12, method: 'cross-stitch', extra: '  mining: semi-hard\n  clipNorm: 1\n' }),
    );
    const counts: number[] = [];
    await trainRun(kernel, loaded, {
      outputDir: workspace.dir,
      hooks: [{ name: 'count', afterStep: () => void counts.push(tf.memory().numTensors) }],
    });
    // After the optimiser has created its slots (first step), nothing may accumulate.
    assert.deepEqual(new Set(counts.slice(1)).size, 1, `tensor counts ${counts.join(' ')}`);
  });

  it('stops with TRAINING_DIVERGED at a non-finite update, though the losses still read finite, saving no NaN weights', async () => {
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ steps: 6, extra: '  checkpointEvery: 1\n' }),
      'poisoned.yaml',
    );
    // From the third update on, every gradient is NaN: the weights turn NaN, and the hinge of the triplet
    // loss may clamp the NaN distances it then sees to a loss of 0.
    const poison: TrainerHook = {
      name: 'poison',
      reduceGradients: (update, pass) =>
        pass.step < 2
          ? update
          : Object.fromEntries(Object.entries(update).map(([name, g]) => [name, tf.mul(g, NaN)])),
    };
    const seen: number[] = [];
    await assert.rejects(
      trainRun(kernel, loaded, {
        outputDir: workspace.dir,
        name: 'poisoned',
        hooks: [poison, { name: 'seen', afterStep: (record) => void seen.push(record.step) }],
      }),
      (e: MtlzooError) =>
        e.code === 'TRAINING_DIVERGED' &&
        /^training diverged at step 3: the update of the weights is NaN \(weighting "equal"\)/.test(
          e.message,
        ),
    );
    assert.deepEqual(seen, [1, 2], 'no hook saw the diverged step');
    const experiment = await kernel.build(loaded);
    const variables = experiment.model.parameters();
    const last = path.join(workspace.dir, 'poisoned', 'checkpoints', 'last');
    assert.equal((await loadCheckpoint(last, variables)).step, 2);
    for (const { name, data } of await weightsOf(variables)) assert.ok(data.every(Number.isFinite), name);
    experiment.dispose();
  });

  it('resumes to exactly the weights of an uninterrupted run', async () => {
    const config = smallConfig({ steps: 6, extra: '  checkpointEvery: 3\n  evalEvery: 2\n  flip: true\n' });
    const straight = await loadSmall(path.join(workspace.dir, 'a'), config);
    const full = await trainRun(straight.kernel, straight.loaded, { outputDir: workspace.dir, name: 'full' });

    const broken = await loadSmall(path.join(workspace.dir, 'b'), config);
    const crash = new Error('simulated crash');
    await assert.rejects(
      trainRun(broken.kernel, broken.loaded, {
        outputDir: workspace.dir,
        name: 'interrupted',
        hooks: [
          {
            name: 'crash',
            afterStep: (r: StepRecord) => {
              if (r.step === 5) throw crash;
            },
          },
        ],
      }),
      (e) => e === crash,
    );
    const resumed = await resumeRun(broken.kernel, path.join(workspace.dir, 'interrupted'));
    // Same final weights, and the same best checkpoint tested: the best score before the break is kept.
    assert.equal(resumed.testedStep, full.testedStep);
    const quality = (metrics: typeof full.test) => metrics.filter((m) => !m.name.startsWith('time.'));
    assert.deepEqual(quality(resumed.test), quality(full.test));
    assert.equal(resumed.weightsSha256, full.weightsSha256);
    const log = await new RunDir(resumed.runDir).readMetrics();
    assert.deepEqual(
      log.filter((r) => r.type === 'train').map((r) => r.step),
      [1, 2, 3, 4, 5, 6],
    );
    const last = await fs.readFile(
      path.join(workspace.dir, 'full', 'checkpoints', 'last', 'model.json'),
      'utf8',
    );
    assert.equal(
      JSON.parse(last).userDefinedMetadata.weightsSha256,
      JSON.parse(
        await fs.readFile(
          path.join(workspace.dir, 'interrupted', 'checkpoints', 'last', 'model.json'),
          'utf8',
        ),
      ).userDefinedMetadata.weightsSha256,
    );
  });

  it('leaves no run folder behind when the run cannot be built', async () => {
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ extra: '  batch: { tripletsPerTask: 4, weights: [1, 2] }\n' }).replace(
        '  batch: { tripletsPerTask: 4 }\n',
        '',
      ),
    );
    await assert.rejects(
      trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'never' }),
      /train\.batch\.weights: expected 3 weights \(one per task of dataset shapes: colour, shape, position\), got 2/,
    );
    await assert.rejects(fs.stat(path.join(workspace.dir, 'never')), /ENOENT/);
  });

  describe('checkpoints', () => {
    async function model(method = 'modulation') {
      const { kernel, loaded } = await loadSmall(path.join(workspace.dir, method), smallConfig({ method }));
      const experiment = await kernel.build(loaded);
      return { experiment, trainer: experiment.container.resolve(Trainer) };
    }

    it('round-trip bit-exactly, and a rewrite replaces the weights file', async () => {
      const { experiment } = await model();
      const variables = experiment.model.parameters();
      // Make the weights distinctive, so a load that did nothing would show.
      variables.forEach((v, i) => v.variable.assign(tf.randomNormal(v.variable.shape, 0, 1, 'float32', i)));
      const dir = path.join(workspace.dir, 'ckpt');
      await saveCheckpoint(
        dir,
        variables,
        { step: 3, configHash: 'h', method: 'modulation', backbone: 'tiny', tasks: ['a'] },
        'test',
      );
      const saved = await weightsOf(variables);
      variables.forEach((v) => v.variable.assign(tf.zerosLike(v.variable)));
      const metadata = await loadCheckpoint(dir, variables);
      assert.equal(metadata.step, 3);
      assert.deepEqual(await weightsOf(variables), saved);

      variables[0]!.variable.assign(tf.onesLike(variables[0]!.variable));
      await saveCheckpoint(
        dir,
        variables,
        { step: 4, configHash: 'h', method: 'modulation', backbone: 'tiny', tasks: ['a'] },
        'test',
      );
      const files = (await fs.readdir(dir)).sort();
      assert.equal(files.length, 2, files.join(','));
      assert.match(files[1]!, /^weights-[0-9a-f]{16}\.bin$/);
      experiment.dispose();
    });

    it("read an earlier version's format-1 checkpoint for its weights, and refuse to resume from it by name", async () => {
      const { experiment } = await model();
      const variables = experiment.model.parameters();
      const dir = path.join(workspace.dir, 'format-1');
      await saveCheckpoint(
        dir,
        variables,
        { step: 2, configHash: 'h', method: 'modulation', backbone: 'tiny', tasks: ['a'] },
        'test',
      );
      const saved = await weightsOf(variables);
      // What format 1 wrote: the same weights file, no integrity record and no training state.
      const file = path.join(dir, 'model.json');
      const json = JSON.parse(await fs.readFile(file, 'utf8')) as {
        format: string;
        userDefinedMetadata: Record<string, unknown>;
      };
      const { integrity: _integrity, training: _training, ...metadata } = json.userDefinedMetadata;
      await fs.writeFile(
        file,
        JSON.stringify({ ...json, format: 'mtlzoo-checkpoint/1', userDefinedMetadata: metadata }),
      );
      variables.forEach((v) => v.variable.assign(tf.zerosLike(v.variable)));
      assert.equal((await loadCheckpoint(dir, variables)).step, 2);
      assert.deepEqual(await weightsOf(variables), saved);
      await assert.rejects(
        loadCheckpoint(dir, variables, { restoreTraining: () => assert.fail('no state to restore') }),
        /is in mtlzoo-checkpoint\/1 .* cannot be resumed from; its weights still load/,
      );
      // Its weights are still checked: a flipped byte is refused.
      const weightsFile = path.join(
        dir,
        (await fs.readdir(dir)).find((f) => f.endsWith('.bin'))!,
      );
      const bytes = await fs.readFile(weightsFile);
      bytes[3] = bytes[3]! ^ 0xff;
      await fs.writeFile(weightsFile, bytes);
      await assert.rejects(loadCheckpoint(dir, variables), /does not match the sha256 .* corrupted/);
      experiment.dispose();
    });

    it('refuse truncated, corrupted and mismatched checkpoints without touching the model', async () => {
      const { experiment } = await model();
      const variables = experiment.model.parameters();
      const dir = path.join(workspace.dir, 'ckpt');
      await saveCheckpoint(
        dir,
        variables,
        { step: 1, configHash: 'h', method: 'modulation', backbone: 'tiny', tasks: ['a'] },
        'test',
      );
      const before = await weightsOf(variables);
      const weightsFile = path.join(
        dir,
        (await fs.readdir(dir)).find((f) => f.endsWith('.bin'))!,
      );
      const original = await fs.readFile(weightsFile);

      await fs.writeFile(weightsFile, original.subarray(0, original.length - 8));
      await assert.rejects(
        loadCheckpoint(dir, variables),
        (e: MtlzooError) => e.code === 'CHECKPOINT_INVALID' && /truncated/.test(e.message),
      );

      const flipped = Buffer.from(original);
      flipped[10] = flipped[10]! ^ 0xff;
      await fs.writeFile(weightsFile, flipped);
      await assert.rejects(loadCheckpoint(dir, variables), /does not match the sha256 .* corrupted/);

      await fs.writeFile(weightsFile, original);
      await fs.writeFile(path.join(dir, 'model.json'), '{"format": "mtlzoo-checkpoint/1", ');
      await assert.rejects(loadCheckpoint(dir, variables), /model\.json is not valid JSON/);
      await assert.rejects(
        loadCheckpoint(path.join(workspace.dir, 'nowhere'), variables),
        /no model\.json: not a checkpoint folder/,
      );
      assert.deepEqual(await weightsOf(variables), before);

      const other = await model('separate');
      const otherDir = path.join(workspace.dir, 'other');
      await saveCheckpoint(
        otherDir,
        other.experiment.model.parameters(),
        { step: 1, configHash: 'h', method: 'separate', backbone: 'tiny', tasks: ['a'] },
        'test',
      );
      await assert.rejects(
        loadCheckpoint(otherDir, variables),
        /does not fit this model \(checkpoint: method separate, backbone tiny\): missing /,
      );
      assert.deepEqual(await weightsOf(variables), before);
      experiment.dispose();
      other.experiment.dispose();
    });
  });
});
