/**
 * Every weighting strategy trains end to end (finite losses, a tensor count that stays flat over steps), on
 * the method with both shared and task-specific parameters; every architecture the method registry holds
 * trains with a loss-based and a gradient-based strategy. The full grid, every strategy × every method for 20
 * steps, is `npm run test:weighting-grid`.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import type { ProbeRecord } from '../src/analysis/probe.js';
import type { TrainerHook } from '../src/engine/hooks.js';
import { RunDir } from '../src/engine/run-dir.js';
import { weightingPlugins } from '../plugins/weighting/index.js';
import { methodPlugins } from '../plugins/method/index.js';
import { resumeRun, trainRun } from '../src/engine/run.js';
import { InterruptedError, type StepRecord } from '../src/engine/trainer.js';
import { loadSmall } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { comparableRecords } from './helpers/records.js';
import { checkTraining, leanConfig, STEPS, trainWith } from './helpers/weighting.js';

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

/** A hook that counts the model's forward passes (embed calls) of each step. */
function forwardPassCounter(): { hook: TrainerHook; passes: number[]; records: StepRecord[] } {
  const passes: number[] = [];
  const records: StepRecord[] = [];
  let calls = 0;
  const hook: TrainerHook = {
    name: 'count',
    start({ model }) {
      const embed = model.embed.bind(model);
      (model as { embed: typeof embed }).embed = (...args) => {
        calls += 1;
        return embed(...args);
      };
    },
    afterStep(record) {
      passes.push(calls);
      records.push(record);
      calls = 0;
    },
  };
  return { hook, passes, records };
}

describe('weighting strategies across a resume, and with the gradient probe', function () {
  this.timeout(600_000);
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => workspace.cleanup());

  // FAMO: logits and Adam state, updated after each update; DB-MTL: a tensor (the gradient EMA).
  for (const weighting of ['famo', 'db-mtl']) {
    it(`${weighting}: interrupted and resumed equals uninterrupted (weights hash, records)`, async () => {
      const config = leanConfig('modulation', weighting).replace(
        `steps: ${STEPS}`,
        'steps: 5\n  checkpointEvery: 1\n  optimizer: { type: adam, lr: 0.01 }',
      );
      const straight = await loadSmall(path.join(workspace.dir, 'a'), config);
      const full = await trainRun(straight.kernel, straight.loaded, {
        outputDir: workspace.dir,
        name: 'full',
      });
      const broken = await loadSmall(path.join(workspace.dir, 'b'), config);
      const controller = new AbortController();
      const abort: TrainerHook = {
        name: 'abort',
        afterStep: (record) => void (record.step === 3 && controller.abort('SIGINT')),
      };
      await assert.rejects(
        trainRun(broken.kernel, broken.loaded, {
          outputDir: workspace.dir,
          name: 'split',
          hooks: [abort],
          signal: controller.signal,
        }),
        InterruptedError,
      );
      const resumed = await resumeRun(broken.kernel, path.join(workspace.dir, 'split'));
      assert.equal(resumed.weightsSha256, full.weightsSha256);
      assert.deepEqual(
        comparableRecords(await new RunDir(resumed.runDir).readMetrics()),
        comparableRecords(await new RunDir(full.runDir).readMetrics()),
      );
    });
  }

  it("a task without a share of the batch costs no pass and is not one of the strategy's tasks", async () => {
    const config = leanConfig('modulation', 'imtl')
      .replace('tasks: [colour, position]', 'tasks: [colour, shape, position]')
      .replace('tripletsPerTask: 3 }', 'tripletsPerTask: 3, weights: [1, 0, 1] }');
    const { kernel, loaded } = await loadSmall(workspace.dir, config);
    const { hook, passes, records } = forwardPassCounter();
    await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'partial', hooks: [hook] });
    assert.deepEqual(passes, new Array(STEPS).fill(2));
    for (const r of records)
      assert.ok(Number.isNaN(r.taskLoss[1]!) && Number.isFinite(r.loss), String(r.loss));
  });

  it('the probe reads the per-task gradients a gradient-based strategy computed: no extra passes', async () => {
    const config = leanConfig('modulation', 'pcgrad').replace(
      `steps: ${STEPS}`,
      'steps: 4\n  probe: { every: 2, tripletsPerTask: 3 }',
    );
    const { kernel, loaded } = await loadSmall(workspace.dir, config);
    // Forward passes of the model per step: one per task for pcgrad, none more on the probe's steps.
    const { hook, passes } = forwardPassCounter();
    const summary = await trainRun(kernel, loaded, {
      outputDir: workspace.dir,
      name: 'probed',
      hooks: [hook],
    });
    assert.deepEqual(passes, [2, 2, 2, 2]);
    const probes = (await new RunDir(summary.runDir).readMetrics()).filter((r) => r.type === 'probe');
    assert.deepEqual(
      probes.map((r) => [r.step, r.batch]),
      [
        [2, 'training'],
        [4, 'training'],
      ],
    );
    // The recorded geometry is that of the training batch's gradients: non-zero norms for both tasks.
    for (const r of probes) assert.ok((r as unknown as ProbeRecord).all.norm.every((n) => n > 0));
  });
});
