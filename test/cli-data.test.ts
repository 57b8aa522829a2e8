import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Kernel } from '../src/kernel/kernel.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { celebaImages, writeCelebaFixture } from './fixtures/celeba.js';
import { runCli } from './helpers/cli.js';
import { smallConfig } from './helpers/experiment.js';
import { tempDir, writeFiles } from './helpers/files.js';

const REPO = path.join(import.meta.dirname, '..');

/** A CelebA experiment on the tiny backbone (cheap to build), with the dataset options given. */
function celebaConfig(dataset: string, extra = ''): string {
  return `backend: cpu
backbone: { name: tiny, options: { inputSize: 16, channels: [4, 8], embeddingDim: 8 } }
method: modulation
dataset:
  name: celeba
  options: ${dataset}
${extra}`;
}

interface InspectJson {
  dataset: string;
  decoded: boolean;
  splits: {
    split: string;
    size: number;
    origin?: string;
    cacheFile?: string;
    tasks: {
      task: string;
      labelled: number;
      unlabelled: number;
      distinctLabels: number;
      labels: { label: string; count: number }[];
      triplets?: number;
    }[];
  }[];
  problems: string[];
}

describe('CLI: data and params', () => {
  let workspace: ReturnType<typeof tempDir>;
  let config: string;
  before(() => {
    workspace = tempDir();
    config = path.join(workspace.dir, 'exp.yaml');
    writeFiles(workspace.dir, { 'exp.yaml': smallConfig() });
  });
  after(() => workspace.cleanup());

  it('describes the real-data configs with no data present: 7, 40 and 4 tasks, nothing written', async () => {
    const kernel = new Kernel({ logger: createMemoryLogger() });
    for (const [file, tasks] of [
      ['celeba-paper7.yaml', 7],
      ['celeba-40.yaml', 40],
      ['ut-zappos50k-csn.yaml', 4],
    ] as const) {
      const { config } = await kernel.loadConfig(path.join(REPO, 'configs', file));
      // Roots are relative to the config file: configs/../data/…, absent in a checkout.
      const root = config.dataset.options.root as string;
      assert.ok(root.startsWith(path.join(REPO, 'data')), root);
      const described = await kernel.describeDataset({
        ...config,
        output: { ...config.output, cacheDir: path.join(workspace.dir, 'untouched') },
      });
      assert.equal(described.tasks.length, tasks, file);
      assert.equal(described.splits, undefined);
      assert.match(described.missing!, /root not found/);
    }
    assert.equal(existsSync(path.join(workspace.dir, 'untouched')), false);
  });

  it('params takes the task count from the config with no data, and from the list files alone with data', async () => {
    writeFiles(workspace.dir, {
      'paper7-tiny.yaml': `extends: ${path.join(REPO, 'configs', 'celeba-paper7.yaml')}\n${celebaConfig('{ root: ../data/celeba, attributes: paper7 }')}`,
    });
    const none = await runCli('params', '-c', path.join(workspace.dir, 'paper7-tiny.yaml'), '--json');
    assert.equal(none.code, 0, none.log);
    assert.equal((JSON.parse(none.stdout) as { taskCount: number }).taskCount, 7);
    assert.match(none.log, /CelebA root not found \(expected a folder\); tasks from the config/);

    const data = path.join(workspace.dir, 'celeba-data');
    await writeCelebaFixture(path.join(data, 'celeba'), celebaImages(40));
    writeFiles(data, {
      'exp.yaml': celebaConfig(
        '{ root: celeba, attributes: [Bald, Smiling, Young], identity: true }',
        'output: { cacheDir: cache }',
      ),
    });
    const present = await runCli('params', '-c', path.join(data, 'exp.yaml'), '--json');
    assert.equal(present.code, 0, present.log);
    assert.equal((JSON.parse(present.stdout) as { taskCount: number }).taskCount, 4);
    // Nothing decoded: the cache folder (relative to the config file) was never created.
    assert.equal(existsSync(path.join(data, 'cache')), false);
  });

  it('data inspect checks a real dataset from its list files: per split and task counts, then every problem', async () => {
    const data = path.join(workspace.dir, 'inspect-data');
    const images = celebaImages(40);
    await writeCelebaFixture(path.join(data, 'celeba'), images);
    writeFiles(data, {
      'sub/exp.yaml': celebaConfig(
        '{ root: ../celeba, attributes: [Bald, Smiling] }',
        'output: { cacheDir: ../cache }',
      ),
    });
    const config = path.join(data, 'sub', 'exp.yaml');
    const { code, stdout, log } = await runCli('data', 'inspect', '-c', config, '--json');
    assert.equal(code, 0, log);
    const report = JSON.parse(stdout) as InspectJson;
    assert.equal(report.decoded, false);
    assert.deepEqual(report.problems, []);
    const bald = 4;
    for (const [s, split] of report.splits.entries()) {
      const members = images.filter((img) => img.split === s);
      assert.equal(split.size, members.length);
      assert.match(split.origin!, /list_eval_partition\.txt, partition \d/);
      const task = split.tasks[0]!;
      assert.equal(task.task, 'Bald');
      const yes = members.filter((img) => img.attributes[bald] === 1).length;
      assert.deepEqual(task.labels, [
        { label: 'no', count: members.length - yes },
        { label: 'yes', count: yes },
      ]);
      assert.equal(task.unlabelled, 0);
      assert.equal(task.triplets, undefined);
    }
    assert.equal(existsSync(path.join(data, 'cache')), false);

    // --decode builds the caches (in the folder the config names, relative to it) and reports them.
    const decoded = await runCli('data', 'inspect', '-c', config, '--json', '--decode');
    assert.equal(decoded.code, 0, decoded.log);
    const decodedReport = JSON.parse(decoded.stdout) as InspectJson;
    assert.equal(decodedReport.decoded, true);
    assert.ok(decodedReport.splits[0]!.cacheFile!.startsWith(path.join(data, 'cache')));
    assert.equal(readdirSync(path.join(data, 'cache')).filter((f) => f.endsWith('.u8')).length, 3);

    // A split where a task cannot draw triplets: reported with split and task, and exit 1.
    await writeCelebaFixture(
      path.join(data, 'celeba'),
      images.map((img) => ({
        ...img,
        attributes: img.attributes.map((v, k) => (k === bald && img.split === 2 ? -1 : v)),
      })),
    );
    const bad = await runCli('data', 'inspect', '-c', config, '--json');
    assert.equal(bad.code, 1);
    const badReport = JSON.parse(bad.stdout) as InspectJson;
    assert.equal(badReport.problems.length, 1);
    assert.match(
      badReport.problems[0]!,
      /^celeba test split \(.*partition 2\): task "Bald" has only label no: 8 image\(s\)/,
    );
    assert.match(bad.log, /1 problem\(s\) would stop training/);

    // A run stops on the same problem before decoding an image, and before touching its run folder.
    const train = await runCli('train', '-c', config, '--out', path.join(data, 'runs'));
    assert.equal(train.code, 1, train.log);
    assert.match(train.log, /celeba test split \(.*partition 2\): task "Bald" has only label no/);
    assert.equal(existsSync(path.join(data, 'runs')), false);
    assert.equal(readdirSync(path.join(data, 'cache')).filter((f) => f.endsWith('.u8')).length, 3);
  });

  it('resolves dataset root and cacheDir against the config file that set them, and leaves them out of the hash', async () => {
    const data = path.join(workspace.dir, 'paths');
    writeFiles(data, {
      'a/base.yaml': celebaConfig('{ root: ../celeba }', 'output: { cacheDir: ../cache }'),
      'a/b/exp.yaml': 'extends: ../base.yaml\nseed: 2\n',
      'elsewhere/exp.yaml': celebaConfig('{ root: /mnt/other/celeba }', 'seed: 2'),
    });
    const kernel = new Kernel({ logger: createMemoryLogger() });
    const loaded = await kernel.loadConfig(path.join(data, 'a', 'b', 'exp.yaml'), '/');
    assert.equal(loaded.config.dataset.options.root, path.join(data, 'celeba'));
    assert.equal(loaded.config.output.cacheDir, path.join(data, 'cache'));
    const other = await kernel.loadConfig(path.join(data, 'elsewhere', 'exp.yaml'));
    assert.equal(other.config.dataset.options.root, '/mnt/other/celeba');
    assert.equal(other.hash, loaded.hash);
    // A default cacheDir is not set by any file and stays relative to the working folder.
    assert.equal(other.config.output.cacheDir, '.cache/mtlzoo');
  });

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
      [
        'modulation (vector)',
        'modulation (matrix)',
        'shared',
        'separate',
        'cross-stitch',
        'csn',
        'asen (v1)',
        'asen (v2)',
        'adapters',
        'film',
        'mmoe',
        'mtan',
        'task-bn',
        'task-routing',
      ],
    );
    assert.equal((await runCli('params', '-c', config, '--tasks', 'three')).code, 2);
  });
});
