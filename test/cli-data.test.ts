import { strict as assert } from 'node:assert';
import path from 'node:path';
import sharp from 'sharp';
import { runCli } from './helpers/cli.js';
import { smallConfig } from './helpers/experiment.js';
import { tempDir, writeFiles } from './helpers/files.js';

describe('CLI: data and params', () => {
  let workspace: ReturnType<typeof tempDir>;
  let config: string;
  before(() => {
    workspace = tempDir();
    config = path.join(workspace.dir, 'exp.yaml');
    writeFiles(workspace.dir, { 'exp.yaml': smallConfig() });
  });
  after(() => workspace.cleanup());

  it('data inspect reports every split and task with label counts that add up', async () => {
    const { code, stdout, log } = await runCli('data', 'inspect', '-c', config, '--json');
    assert.equal(code, 0, log);
    const report = JSON.parse(stdout) as {
      splits: {
        split: string;
        size: number;
        tasks: { task: string; labelled: number; labels: { count: number }[] }[];
      }[];
    };
    assert.deepEqual(
      report.splits.map((s) => [s.split, s.size]),
      [
        ['train', 160],
        ['val', 48],
        ['test', 48],
      ],
    );
    for (const split of report.splits) {
      assert.deepEqual(
        split.tasks.map((t) => t.task),
        ['colour', 'shape', 'position'],
      );
      for (const task of split.tasks) {
        assert.equal(
          task.labels.reduce((n, l) => n + l.count, 0),
          task.labelled,
        );
      }
    }
    const text = await runCli('data', 'inspect', '-c', config);
    assert.match(text.stdout, /train: 160 images/);
  });

  it('data preview writes a PNG contact sheet, and refuses a bad split', async () => {
    const out = path.join(workspace.dir, 'grid.png');
    const { code, stdout } = await runCli('data', 'preview', '-c', config, '--out', out, '--count', '6');
    assert.equal(code, 0);
    assert.match(stdout, /grid\.png: 6 samples of the train split/);
    const meta = await sharp(out).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! > 100 && meta.height! > 50);
    const bad = await runCli('data', 'preview', '-c', config, '--out', out, '--split', 'dev');
    assert.equal(bad.code, 2);
    assert.match(bad.log, /--split: expected train, val or test, got "dev"/);
  });

  it('params prints one row per method with the closed-form shared size', async () => {
    const { code, stdout } = await runCli('params', '-c', config, '--tasks', '3', '--json');
    assert.equal(code, 0);
    const table = JSON.parse(stdout) as {
      taskCount: number;
      rows: { label: string; sharedParams: number; totalParams: number }[];
    };
    assert.equal(table.taskCount, 3);
    const shared = table.rows.find((r) => r.label === 'shared')!;
    const separate = table.rows.find((r) => r.label === 'separate')!;
    assert.equal(separate.totalParams, 3 * shared.totalParams);
    assert.deepEqual(
      table.rows.map((r) => r.label),
      ['modulation (vector)', 'modulation (matrix)', 'shared', 'separate', 'cross-stitch', 'csn'],
    );
    assert.equal((await runCli('params', '-c', config, '--tasks', 'three')).code, 2);
  });
});
