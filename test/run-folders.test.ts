/**
 * Run folders (issue #10, defects 3–7): one folder per run even in the same second, names that are
 * folder names, configs whose paths hold line breaks, no silent fallback to `last`, litter of killed
 * writers removed, recorded plugins checked, a resolved config that never extends, a full disk during a
 * checkpoint.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, promises as fs, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { resumeRun, trainRun } from '../src/engine/run.js';
import { RunDir } from '../src/engine/run-dir.js';
import type { MtlzooError } from '../src/errors.js';
import { Kernel } from '../src/kernel/kernel.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { setWriteFault } from '../src/util/write.js';
import { runCli } from './helpers/cli.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('run folders', function () {
  this.timeout(300_000);
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => {
    setWriteFault(undefined);
    workspace.cleanup();
  });

  it('give two runs started in the same second two folders; refuse names that are not one folder name', async () => {
    const { kernel, loaded } = await loadSmall(path.join(workspace.dir, 'cfg'), smallConfig());
    const runs = path.join(workspace.dir, 'runs');
    const a = await RunDir.create(runs, loaded, kernel.logger);
    const b = await RunDir.create(runs, loaded, kernel.logger);
    assert.equal(b.dir, `${a.dir}-2`);
    a.release();
    b.release();

    const file = path.join(workspace.dir, 'cfg', 'exp.yaml');
    for (const [name, problem] of [
      ['', '"" is empty'],
      ['a/b', 'must be a folder name, not a path'],
      ['..', 'must be a folder name, not a path'],
      ['n'.repeat(300), 'is 300 bytes long; a folder name takes at most 255'],
    ] as const) {
      const { code, log } = await runCli('train', '-c', file, '--out', runs, '--name', name);
      assert.equal(code, 2, name);
      assert.ok(log.includes(`--name: `) && log.includes(problem), log);
    }
    // Nothing was written into --out itself.
    assert.deepEqual((await fs.readdir(runs)).sort(), [path.basename(a.dir), path.basename(b.dir)]);
  });

  it('save a config whose path holds a line break so that the run still loads and resumes', async () => {
    const { kernel, loaded } = await loadSmall(
      path.join(workspace.dir, 'odd\nfolder'),
      smallConfig({ steps: 2 }),
      'exp\nname.yaml',
    );
    const summary = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'run' });
    const saved = await fs.readFile(path.join(summary.runDir, 'config.yaml'), 'utf8');
    assert.match(saved, /^# from ".*odd\\nfolder\/exp\\nname\.yaml"$/m);
    assert.equal((parse(saved) as { seed: number }).seed, 5);
    const { code, log } = await runCli('train', '--resume', summary.runDir);
    assert.equal(code, 0, log);
  });

  it('never fall back from a missing best to last; --checkpoint last is explicit', async () => {
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ steps: 2, extra: '  evalEvery: 2\n' }),
    );
    const summary = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'run' });
    await fs.rm(path.join(summary.runDir, 'checkpoints', 'best'), { recursive: true });
    for (const args of [
      ['eval', summary.runDir],
      ['analyze', 'relatedness', summary.runDir],
    ]) {
      const { code, log } = await runCli(...args);
      assert.equal(code, 2, log);
      assert.match(
        log,
        /has no best checkpoint \(.*best\/model\.json is missing\); pass --checkpoint last to use the last one/,
      );
    }
    const last = await runCli('eval', summary.runDir, '--checkpoint', 'last', '--json');
    assert.equal(last.code, 0, last.log);
    assert.equal((JSON.parse(last.stdout) as { step: number }).step, 2);
  });

  it('remove what a killed writer left (temp files, unnamed weights) when the run is next opened', async () => {
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ steps: 4, extra: '  checkpointEvery: 2\n' }),
    );
    const controller = new AbortController();
    await assert.rejects(
      trainRun(kernel, loaded, {
        outputDir: workspace.dir,
        name: 'run',
        signal: controller.signal,
        hooks: [{ name: 'stop', afterStep: (r) => void (r.step === 2 && controller.abort('SIGTERM')) }],
      }),
      (e: MtlzooError) => e.exitCode === 143,
    );
    const dir = path.join(workspace.dir, 'run');
    const last = path.join(dir, 'checkpoints', 'last');
    // Temps of a writer that is gone, and weights its model.json never named.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const litter = [
      path.join(dir, `.mtlzoo-${dead}-0a0b0c0d.tmp`),
      path.join(last, `.mtlzoo-${dead}-1a1b1c1d.tmp`),
      path.join(last, 'weights-0123456789abcdef.bin'),
    ];
    for (const file of litter) await fs.writeFile(file, 'half-written');
    const logger = createMemoryLogger();
    await resumeRun(new Kernel({ logger }), dir);
    for (const file of litter) assert.ok(!existsSync(file), file);
    assert.match(
      logger.lines.join('\n'),
      /removed 3 file\(s\) a stopped writer left: .*weights-0123456789abcdef\.bin/,
    );
    assert.equal((await fs.readdir(last)).filter((f) => f.endsWith('.bin')).length, 1);
  });

  it('refuse a recorded plugin whose file changed, a plugin added, and a config that extends, in every command that opens a run', async () => {
    const plugin = path.join(workspace.dir, 'soft-margin');
    cpSync(path.join(ROOT, 'docs', 'examples', 'mtlzoo-plugin-soft-margin'), plugin, { recursive: true });
    // The plugin imports mtlzoo, installed in the user's project.
    mkdirSync(path.join(workspace.dir, 'node_modules'));
    symlinkSync(ROOT, path.join(workspace.dir, 'node_modules', 'mtlzoo'), 'dir');
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({ steps: 2, extra: '  evalEvery: 2\n' }).replace(
        'seed: 5',
        'seed: 5\nplugins: [./soft-margin]',
      ) + 'loss: { name: soft-margin }\n',
    );
    const summary = await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'run' });
    const recorded = JSON.parse(await fs.readFile(path.join(summary.runDir, 'plugins.json'), 'utf8')) as {
      plugins: { spec: string; file: string; sha256: string }[];
    };
    assert.equal(recorded.plugins.length, 1);
    assert.match(recorded.plugins[0]!.sha256, /^[0-9a-f]{64}$/);
    assert.equal((await runCli('eval', summary.runDir)).code, 0);

    const entry = path.join(plugin, 'index.js');
    await fs.appendFile(entry, '\n// edited\n');
    for (const args of [
      ['eval', summary.runDir],
      ['analyze', 'relatedness', summary.runDir],
      ['report', summary.runDir],
    ]) {
      const { code, log } = await runCli(...args);
      assert.equal(code, 2, `${args.join(' ')}: ${log}`);
      assert.match(
        log,
        new RegExp(
          `plugin ${plugin} \\(${entry}\\) changed since the run used it \\(sha256 [0-9a-f]{12}…, recorded [0-9a-f]{12}…\\)`,
        ),
      );
    }
    const trusted = await runCli('eval', summary.runDir, '--trust-plugins');
    assert.equal(trusted.code, 0, trusted.log);
    assert.match(trusted.log, /changed since the run used it .*; loading it as trusted/);

    const configFile = path.join(summary.runDir, 'config.yaml');
    await fs.writeFile(configFile, `extends: ../exp.yaml\n${await fs.readFile(configFile, 'utf8')}`);
    const extended = await runCli('eval', summary.runDir, '--trust-plugins');
    assert.equal(extended.code, 2);
    assert.match(
      extended.log,
      /config\.yaml: extends: a run's config\.yaml is resolved and never extends other files, got \.\.\/exp\.yaml/,
    );
  });

  it('a full disk while writing a checkpoint: one line naming the file, the previous checkpoint stands, resume equals', async () => {
    const config = smallConfig({ steps: 4, extra: '  optimizer: { type: adam }\n  checkpointEvery: 2\n' });
    const straight = await loadSmall(path.join(workspace.dir, 'a'), config);
    const full = await trainRun(straight.kernel, straight.loaded, { outputDir: workspace.dir, name: 'full' });
    // The second checkpoint's weights (step 4) cannot be written.
    setWriteFault('ENOSPC@weights-#2');
    const dir = path.join(workspace.dir, 'broken');
    const failed = await runCli(
      'train',
      '-c',
      straight.loaded.file,
      '--out',
      workspace.dir,
      '--name',
      'broken',
    );
    setWriteFault(undefined);
    assert.equal(failed.code, 1);
    assert.match(
      failed.log.split('\n').at(-1)!,
      new RegExp(
        `^mtlzoo: cannot write ${dir}/checkpoints/last/weights-[0-9a-f]{16}\\.bin: no space left on the device \\(ENOSPC\\)$`,
      ),
    );
    const resumed = await runCli('train', '--resume', dir, '--json');
    assert.equal(resumed.code, 0, resumed.log);
    assert.match(resumed.log, /at step 2\/4/);
    assert.equal((JSON.parse(resumed.stdout) as { weightsSha256: string }).weightsSha256, full.weightsSha256);
  });
});
