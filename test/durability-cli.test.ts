/**
 * Issue #10 on real CLI processes: a signal mid-run then --resume equals an uninterrupted run (Adam); two
 * writers of one run folder are refused; a second signal stops at once; a planted .mtlzoorc.mjs above the
 * project never runs; a plugin added to a run's config.yaml never runs; a full disk gives one line naming
 * the file, and the run resumes once space is freed.
 */
import { strict as assert } from 'node:assert';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { trainRun } from '../src/engine/run.js';
import { Kernel } from '../src/kernel/kernel.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { runCli } from './helpers/cli.js';
import { RunDir } from '../src/engine/run-dir.js';
import type { TrainSummary } from '../src/engine/trainer.js';
import { readJsonl } from '../src/util/jsonl.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';
import { tempDir, writeFiles } from './helpers/files.js';
import { runMtlzoo, startMtlzoo, waitFor } from './helpers/process.js';
import { comparableRecords } from './helpers/records.js';

/** 30 Adam steps, checkpoints only at the validations (10, 20, 30): a signal's save is the only other one. */
const CONFIG = smallConfig({
  steps: 30,
  extra: '  optimizer: { type: adam, lr: 0.003 }\n  evalEvery: 10\n  flip: true\n',
});

async function trainedSteps(runDir: string): Promise<number> {
  const { records } = await readJsonl(path.join(runDir, 'metrics.jsonl')).catch(() => ({ records: [] }));
  return Math.max(0, ...records.filter((r) => r.type === 'train').map((r) => r.step as number));
}

/** A marker-writing module: if it is ever imported, `marker` appears. */
function markerModule(marker: string, exported: string): string {
  return `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default ${exported};\n`;
}

describe('durability on real CLI processes', function () {
  this.timeout(600_000);
  let workspace: ReturnType<typeof tempDir>;
  let config: string;
  let reference: TrainSummary;
  before(async () => {
    workspace = tempDir();
    const { kernel, loaded } = await loadSmall(path.join(workspace.dir, 'cfg'), CONFIG);
    config = loaded.file;
    reference = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'reference' });
  });
  after(() => workspace.cleanup());

  async function assertEqualsReference(runDir: string): Promise<void> {
    const summary = (await new RunDir(runDir).readSummary())!;
    assert.equal(summary.weightsSha256, reference.weightsSha256);
    assert.deepEqual(
      comparableRecords(await new RunDir(runDir).readMetrics()),
      comparableRecords(await new RunDir(reference.runDir).readMetrics()),
    );
  }

  it('SIGINT mid-run saves `last`, exits 130 saying how to resume; --resume equals an uninterrupted run (Adam)', async () => {
    const dir = path.join(workspace.dir, 'interrupted');
    const run = startMtlzoo(['train', '-c', config, '--out', workspace.dir, '--name', 'interrupted']);
    await waitFor(async () => (await trainedSteps(dir)) >= 3, 'step 3');
    run.child.kill('SIGINT');
    const { code, stderr } = await run.exited;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /SIGINT: stopping after the current step and saving a checkpoint/);
    const stopped = new RegExp(
      `interrupted by SIGINT after step (\\d+)/30; saved ${dir}/checkpoints/last; resume with: mtlzoo train --resume ${dir}`,
    ).exec(stderr);
    assert.ok(stopped, stderr);
    assert.ok(Number(stopped[1]) < 30, 'stopped before the end');
    assert.ok(!/^\s+at /m.test(stderr), 'no stack trace');

    const resumed = await runMtlzoo(['train', '--resume', dir]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming ${dir} at step ${stopped[1]}/30`));
    await assertEqualsReference(dir);
  });

  it('refuses a second writer of a run folder (another config, or --resume) naming the holder; a second SIGINT stops at once', async () => {
    const other = path.join(workspace.dir, 'cfg', 'other.yaml');
    await fs.writeFile(other, CONFIG.replace('lr: 0.003', 'lr: 0.001').replace('steps: 30', 'steps: 400'));
    const dir = path.join(workspace.dir, 'busy');
    const first = startMtlzoo(['train', '-c', other, '--out', workspace.dir, '--name', 'busy']);
    await waitFor(async () => (await trainedSteps(dir)) >= 1, 'the first writer to train');
    const [second, resume] = await Promise.all([
      runMtlzoo(['train', '-c', config, '--out', workspace.dir, '--name', 'busy']),
      runMtlzoo(['train', '--resume', dir]),
    ]);
    for (const refused of [second, resume]) {
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(
        refused.stderr,
        new RegExp(
          `^mtlzoo: ${dir} is in use by another run: locked by pid ${first.child.pid} on .* \\(mtlzoo train -c .*other\\.yaml`,
          'm',
        ),
      );
    }
    first.child.kill('SIGINT');
    await waitFor(() => first.stderr().includes('SIGINT: stopping'), 'the first SIGINT to be seen');
    first.child.kill('SIGINT');
    const { code, stderr } = await first.exited;
    // The second SIGINT either lands during the first one's step and save (stops at once, 130) or after
    // the save finished, while Node tears the process down (130, or ended by the signal itself: no code);
    // neither leaves the lock or a torn file.
    if (/SIGINT again: stopping now, without saving/.test(stderr)) assert.equal(code, 130, stderr);
    else {
      assert.match(stderr, /interrupted by SIGINT after step \d+\/400; saved/);
      assert.ok(code === 130 || code === null, stderr);
    }
    // The lock went with the process; the run's config is the first writer's alone.
    assert.ok(!existsSync(path.join(dir, '.mtlzoo.lock')));
    assert.match(await fs.readFile(path.join(dir, 'config.yaml'), 'utf8'), /lr: 0\.001/);
  });

  it('never runs a .mtlzoorc.mjs planted above the project, or above a folder outside any project', async () => {
    const above = path.join(workspace.dir, 'above');
    const loose = path.join(workspace.dir, 'loose');
    writeFiles(above, {
      '.mtlzoorc.mjs': markerModule(path.join(above, 'RAN'), '{}'),
      'proj/package.json': '{ "name": "proj" }\n',
      'proj/sub/.keep': '',
    });
    writeFiles(loose, {
      '.mtlzoorc.mjs': markerModule(
        path.join(loose, 'RAN'),
        "{ backbone: 'tiny', method: 'shared', dataset: 'shapes' }",
      ),
      'sub/.keep': '',
    });
    const [inProject, outside] = await Promise.all([
      runMtlzoo(['config', 'check'], { cwd: path.join(above, 'proj', 'sub') }),
      runMtlzoo(['config', 'check'], { cwd: path.join(loose, 'sub') }),
    ]);
    for (const refused of [inProject, outside]) {
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(
        refused.stderr,
        /no config file given and none found in .* or above it up to its project's root/,
      );
    }
    assert.ok(!existsSync(path.join(above, 'RAN')), 'the planted config above the project ran');
    assert.ok(!existsSync(path.join(loose, 'RAN')), 'the planted config above the folder ran');
    // In the working directory itself the config is found and, being code, runs: the marker works.
    assert.equal(
      (await new Kernel({ logger: createMemoryLogger() }).loadConfig(undefined, loose)).config.method.name,
      'shared',
    );
    assert.ok(existsSync(path.join(loose, 'RAN')));
  });

  it("never runs a plugin added to a run's config.yaml; --trust-plugins does", async () => {
    const marker = path.join(workspace.dir, 'PLUGIN-RAN');
    const plugin = path.join(workspace.dir, 'evil.mjs');
    await fs.writeFile(plugin, markerModule(marker, '[]'));
    const configFile = path.join(reference.runDir, 'config.yaml');
    const original = await fs.readFile(configFile, 'utf8');
    await fs.writeFile(configFile, original.replace('plugins: []', `plugins:\n  - ${plugin}`));
    try {
      const { code, stderr } = await runMtlzoo(['eval', reference.runDir]);
      assert.equal(code, 2, stderr);
      assert.equal(
        stderr,
        `mtlzoo: ${configFile}: plugin ${plugin} is not among the plugins the run used; a run folder never loads code it did not run with (pass --trust-plugins to load it anyway)\n`,
      );
      assert.ok(!existsSync(marker), 'the added plugin ran');
      const trusted = await runCli('eval', reference.runDir, '--trust-plugins');
      assert.ok(existsSync(marker), trusted.log);
    } finally {
      await fs.writeFile(configFile, original);
    }
  });

  it('a full disk gives one line naming the file (exit 1); after space is freed --resume cuts the torn record and equals an uninterrupted run', async () => {
    const dir = path.join(workspace.dir, 'full-disk');
    const failed = await runMtlzoo(['train', '-c', config, '--out', workspace.dir, '--name', 'full-disk'], {
      env: { MTLZOO_WRITE_FAULT: 'ENOSPC@metrics.jsonl#14' },
    });
    assert.equal(failed.code, 1, failed.stderr);
    const lines = failed.stderr.trimEnd().split('\n');
    assert.equal(
      lines.at(-1),
      `mtlzoo: cannot append to ${dir}/metrics.jsonl: no space left on the device (ENOSPC)`,
    );
    assert.ok(!/^\s+at /m.test(failed.stderr), 'no stack trace');

    const resumed = await runMtlzoo(['train', '--resume', dir]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      /metrics\.jsonl:\d+: cut a torn last record \(\d+ bytes\) left when the run stopped mid-write/,
    );
    assert.match(resumed.stderr, new RegExp(`resuming ${dir} at step 10/30`));
    await assertEqualsReference(dir);
  });
});
