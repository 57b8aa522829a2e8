/**
 * Resumable benches (issue #10, defects 1 and 3): an interrupted bench continued with `bench --resume`
 * keeps its finished runs, resumes the interrupted one and runs the missing ones, and its results equal
 * those of an uninterrupted bench; a bench folder and a recorded zoo entry have one writer at a time.
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBench, type BenchResults } from '../src/bench/bench.js';
import { loadRecipe } from '../src/bench/recipe.js';
import { InterruptedError } from '../src/engine/trainer.js';
import { Kernel } from '../src/kernel/kernel.js';
import { LOCK_FILE } from '../src/util/lock.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { runCli } from './helpers/cli.js';
import { comparableBenchRows } from './helpers/records.js';
import { smallConfig } from './helpers/experiment.js';
import { tempDir, writeFiles } from './helpers/files.js';

const RECIPE = `description: a resumable bench for tests
config: ./base.yaml
seeds: [0]
baseline: separate
metrics: [triplet-accuracy, mAP@5]
methods:
  - label: modulation
    method: modulation
  - label: shared
    method: shared
  - label: separate
    method: separate
`;

describe('bench: resume and locks', function () {
  this.timeout(600_000);
  let workspace: ReturnType<typeof tempDir>;
  let entry: string;
  let uninterrupted: BenchResults;
  before(async () => {
    workspace = tempDir();
    entry = path.join(workspace.dir, 'zoo', 'tiny');
    writeFiles(entry, {
      'recipe.yaml': RECIPE,
      'base.yaml': smallConfig({ steps: 4, extra: '  optimizer: { type: adam }\n  evalEvery: 2\n' }),
    });
    const { code, stdout, log } = await runCli(
      'bench',
      entry,
      '--out',
      path.join(workspace.dir, 'straight'),
      '--json',
    );
    assert.equal(code, 0, log);
    uninterrupted = JSON.parse(stdout) as BenchResults;
  });
  after(() => workspace.cleanup());

  it('interrupted in its second run, `bench --resume` keeps, resumes and runs to the uninterrupted results', async () => {
    const out = path.join(workspace.dir, 'interrupted');
    const controller = new AbortController();
    const stopped = await runBench(new Kernel({ logger: createMemoryLogger() }), await loadRecipe(entry), {
      outputDir: out,
      log: createMemoryLogger(),
      signal: controller.signal,
      hooksFor: (label) => [
        {
          name: 'stop',
          afterStep: (record) =>
            void (label === 'shared' && record.step === 2 && controller.abort('SIGTERM')),
        },
      ],
    }).catch((error: unknown) => error);
    assert.ok(stopped instanceof InterruptedError, String(stopped));
    assert.equal(stopped.exitCode, 143);
    assert.equal(
      stopped.message,
      `bench interrupted by SIGTERM in shared, seed 0 (run 2/3; 1 finished); resume with: mtlzoo bench --resume ${out}`,
    );
    // The third run never started: only its generated input config (written by the check before any run).
    await assert.rejects(fs.stat(path.join(out, 'separate', 'seed-0')), /ENOENT/);
    await fs.access(path.join(out, 'separate', 'seed-0.input.yaml'));

    const { code, stdout, log } = await runCli('bench', '--resume', out, '--json');
    assert.equal(code, 0, log);
    assert.match(log, /continuing the bench started there/);
    assert.match(log, /modulation\/seed-0 has finished \(4 steps, tested at step 4\); nothing to resume/);
    assert.match(log, /resuming .*shared\/seed-0 at step 2\/4/);
    assert.deepEqual(
      comparableBenchRows(JSON.parse(stdout) as BenchResults),
      comparableBenchRows(uninterrupted),
    );

    // Run again into the same folder, the bench notices it and keeps everything; another plan is refused.
    const again = await runCli('bench', entry, '--out', out, '--json');
    assert.equal(again.code, 0, again.log);
    assert.equal((again.log.match(/nothing to resume/g) ?? []).length, 3);
    assert.deepEqual(
      comparableBenchRows(JSON.parse(again.stdout) as BenchResults),
      comparableBenchRows(uninterrupted),
    );
    const other = await runCli('bench', entry, '--out', out, '--steps', '3');
    assert.equal(other.code, 2);
    assert.match(
      other.log,
      new RegExp(
        `${out} holds a bench started with another steps \\(null, now 3\\); resume it with mtlzoo bench --resume`,
      ),
    );
  });

  it('refuses a second bench into one folder, and a second bench recording one zoo entry', async () => {
    const holder = {
      pid: process.pid,
      host: os.hostname(),
      started: new Date().toISOString(),
      command: 'mtlzoo bench zoo/tiny --record',
    };
    const out = path.join(workspace.dir, 'locked');
    writeFiles(out, { [LOCK_FILE]: JSON.stringify(holder) });
    const busy = await runCli('bench', entry, '--out', out);
    assert.equal(busy.code, 2);
    assert.match(
      busy.log,
      new RegExp(
        `${out} is in use by another bench: locked by pid ${process.pid} .*\\(mtlzoo bench zoo/tiny --record\\)`,
      ),
    );

    writeFiles(entry, { [LOCK_FILE]: JSON.stringify(holder) });
    try {
      const recording = await runCli('bench', entry, '--out', path.join(workspace.dir, 'other'), '--record');
      assert.equal(recording.code, 2);
      assert.match(
        recording.log,
        new RegExp(
          `${entry} is in use by another bench recording this zoo entry: locked by pid ${process.pid}`,
        ),
      );
    } finally {
      await fs.rm(path.join(entry, LOCK_FILE));
    }
  });
});
