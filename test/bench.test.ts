import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResults } from '../src/bench/bench.js';
import type { RowComparison } from '../src/bench/compare.js';
import type { TrainSummary } from '../src/engine/trainer.js';
import { NOT_SIGNIFICANT } from '../src/report/bench-table.js';
import { runCli } from './helpers/cli.js';
import { smallConfig } from './helpers/experiment.js';
import { tempDir, writeFiles } from './helpers/files.js';

const RECIPE = `description: a tiny end-to-end comparison for tests
config: ./base.yaml
seeds: [0, 1]
baseline: separate
metrics: [triplet-accuracy, mAP@5]
methods:
  - label: modulation
    method: modulation
  - label: separate
    method: separate
  - label: csn
    method: { name: csn, options: { masks: fixed } }
  - label: shared
    method: shared
`;

/** Δm of one seed, by hand: the mean relative change of every metric × task against the baseline run. */
function deltaMByHand(mine: TrainSummary, theirs: TrainSummary, metrics: readonly string[]): number {
  let sum = 0;
  let count = 0;
  for (const name of metrics) {
    for (const task of mine.tasks) {
      const m = mine.test.find((x) => x.name === name && x.task === task)!.value;
      const b = theirs.test.find((x) => x.name === name && x.task === task)!.value;
      sum += (m - b) / b;
      count += 1;
    }
  }
  return sum / count;
}

describe('bench', function () {
  this.timeout(300_000);
  let workspace: ReturnType<typeof tempDir>;
  before(() => {
    workspace = tempDir();
  });
  after(() => workspace.cleanup());

  it('runs every method and seed under one config and writes the comparison, with intervals', async () => {
    const entry = path.join(workspace.dir, 'zoo', 'tiny');
    writeFiles(entry, {
      'recipe.yaml': RECIPE,
      'base.yaml': smallConfig({ steps: 3, extra: '  probe: { every: 1, tripletsPerTask: 4 }\n' }),
    });
    const out = path.join(workspace.dir, 'out');
    const { code, stdout, log } = await runCli('bench', entry, '--out', out, '--record');
    assert.equal(code, 0, log);
    const results = JSON.parse(await fs.readFile(path.join(out, 'results.json'), 'utf8')) as BenchResults;
    assert.deepEqual(
      results.rows.map((r) => r.label),
      ['modulation', 'separate', 'csn', 'shared'],
    );
    assert.deepEqual(results.tasks, ['colour', 'shape', 'position']);
    for (const row of results.rows) {
      assert.equal(row.metrics['triplet-accuracy']!.n, 2, `${row.label} has both seeds`);
      assert.equal(row.runDirs.length, 2);
      // Every run of a row trained the same experiment but for the seed and method.
      assert.equal(new Set(row.configHashes).size, 2);
      for (const dir of row.runDirs) assert.ok((await fs.stat(path.join(dir, 'summary.json'))).isFile());
    }
    const separate = results.rows.find((r) => r.label === 'separate')!;
    const modulation = results.rows.find((r) => r.label === 'modulation')!;
    assert.equal(separate.deltaM, undefined);
    assert.equal(separate.versusBaseline, undefined);
    assert.equal(modulation.deltaM!.n, 2);

    // The figures beside the intervals are the runs' own, seed by seed, computed here by hand.
    const summaries = async (dirs: readonly string[]) =>
      Promise.all(
        dirs.map(
          async (d) => JSON.parse(await fs.readFile(path.join(d, 'summary.json'), 'utf8')) as TrainSummary,
        ),
      );
    const mine = await summaries(modulation.runDirs);
    const theirs = await summaries(separate.runDirs);
    const overall = (s: TrainSummary, name: string) =>
      s.test.find((m) => m.name === name && m.task === undefined)!.value;
    const accuracy = modulation.metrics['triplet-accuracy']!;
    assert.ok(
      Math.abs(
        accuracy.mean - (overall(mine[0]!, 'triplet-accuracy') + overall(mine[1]!, 'triplet-accuracy')) / 2,
      ) < 1e-12,
    );
    assert.ok(
      accuracy.ci!.low <= accuracy.mean && accuracy.mean <= accuracy.ci!.high,
      'the interval holds the mean',
    );
    const paired = modulation.versusBaseline!['triplet-accuracy']!;
    const byHand = [0, 1].map(
      (i) => overall(mine[i]!, 'triplet-accuracy') - overall(theirs[i]!, 'triplet-accuracy'),
    );
    assert.ok(Math.abs(paired.mean - (byHand[0]! + byHand[1]!) / 2) < 1e-12);
    assert.equal(paired.significant, paired.ci!.low > 0 || paired.ci!.high < 0);
    const deltas = [0, 1].map((i) => deltaMByHand(mine[i]!, theirs[i]!, results.metrics));
    assert.ok(Math.abs(modulation.deltaM!.mean - (deltas[0]! + deltas[1]!) / 2) < 1e-12);
    // Probe angles for every row with shared weights (not separate), compared with shared's.
    assert.equal(separate.gradients, undefined);
    assert.equal(results.angleBaseline, 'shared');
    assert.equal(modulation.gradients!.curve.steps.length, 3);
    assert.equal(modulation.angleVersus!.label, 'shared');
    // Storage: separate holds one tiny backbone per task; modulation one trunk plus masks.
    assert.equal(separate.params.totalParams, 3 * modulation.params.sharedParams);
    assert.ok(modulation.params.paramsPerTask > 0);
    assert.equal(results.rows.find((r) => r.label === 'csn')!.params.galleryPasses, 1);

    const markdown = await fs.readFile(path.join(out, 'results.md'), 'utf8');
    assert.ok(stdout.includes(markdown.split('\n')[4]!), 'the printed table is the recorded one');
    // The code that trained the runs: this checkout's commit as git reads it, in the results and their table.
    const root = fileURLToPath(new URL('..', import.meta.url));
    const head = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    assert.ok([head, `${head}-dirty`].includes(results.environment.commit!), results.environment.commit!);
    assert.ok(
      markdown.includes(`mtlzoo ${results.environment.mtlzoo} (commit ${results.environment.commit})`),
    );
    const interval = String.raw`\[-?\d+\.\d+, -?\d+\.\d+\]`;
    assert.match(
      markdown,
      new RegExp(
        String.raw`\| modulation: modulation \| 0\.\d+ ± 0\.\d+ \| ${interval} \| 0\.\d+ ± 0\.\d+ \| ${interval} \| -?\d+\.\d+ ± \d+\.\d+ \| ${interval}( n\.s\.)? \|`,
      ),
    );
    assert.match(markdown, /\| separate: separate \|.*\| baseline \|/);
    // Paired differences: a row per compared method, marked exactly when the interval holds 0.
    const pairedLine = markdown.split('\n').find((l) => l.startsWith('| modulation | ') && l.includes('['))!;
    assert.equal(pairedLine.split('|')[2]!.includes(NOT_SIGNIFICANT), !paired.significant);
    assert.match(markdown, /\*\*Paired differences vs separate\*\*/);
    assert.match(markdown, /\*\*Gradient angles on the shared weights\*\*/);
    assert.match(markdown, /\| csn \| \d+\.\d ± \d+\.\d \[/);
    // A sweep over two levels (the entry and the bench folder; the knob read from the recipe's config and
    // from the first run's) shows each row's figures with their intervals.
    const sweep = await runCli('analyze', 'sweep', entry, out, '--knob', 'train.steps');
    assert.equal(sweep.code, 0, sweep.log);
    const deltaLine = sweep.stdout
      .split('**Δm vs separate (%)**')[1]!
      .split('\n')
      .find((l) => l.startsWith('| modulation |'))!;
    const shown = `${(modulation.deltaM!.mean * 100).toFixed(2)} [${(modulation.deltaM!.ci!.low * 100).toFixed(2)}, ${(modulation.deltaM!.ci!.high * 100).toFixed(2)}]`;
    assert.equal(deltaLine.split(' | ').filter((c) => c.startsWith(shown)).length, 2, deltaLine);
    assert.match(sweep.stdout, /\| method \| steps = 3 \| steps = 3 \|/);
    assert.match(sweep.stdout, /\*\*Final across-task angle − shared's, paired by seed \(°\)\*\*/);
    const unset = await runCli('analyze', 'sweep', entry, '--knob', 'dataset.options.relatedness');
    assert.equal(unset.code, 2);
    assert.match(unset.log, /base\.yaml: dataset\.options\.relatedness is not set/);
    // Any two rows compared as the table compares each with the baseline, by hand for modulation − shared.
    const compare = async (...rows: string[]) => {
      const run = await runCli('analyze', 'compare', out, ...rows, '--json');
      assert.equal(run.code, 0, run.log);
      return JSON.parse(run.stdout) as RowComparison;
    };
    const shared = await summaries(results.rows.find((r) => r.label === 'shared')!.runDirs);
    const versusShared = await compare('modulation', 'shared');
    const accuracyGaps = [0, 1].map(
      (i) => overall(mine[i]!, 'triplet-accuracy') - overall(shared[i]!, 'triplet-accuracy'),
    );
    assert.ok(
      Math.abs(versusShared.metrics['triplet-accuracy']!.mean - (accuracyGaps[0]! + accuracyGaps[1]!) / 2) <
        1e-12,
    );
    const sharedDeltas = [0, 1].map((i) => deltaMByHand(mine[i]!, shared[i]!, results.metrics));
    assert.ok(Math.abs(versusShared.deltaM.mean - (sharedDeltas[0]! + sharedDeltas[1]!) / 2) < 1e-12);
    assert.equal(versusShared.angle!.n, 2, 'both rows were probed');
    // Against the baseline it gives exactly the recorded cells, intervals included.
    const versusSeparate = await compare('modulation', 'separate');
    assert.deepEqual(versusSeparate.deltaM, modulation.deltaM);
    assert.deepEqual(versusSeparate.metrics, modulation.versusBaseline);
    assert.equal(versusSeparate.angle, undefined, 'separate has no shared weights to probe');
    const text = await runCli('analyze', 'compare', out, 'modulation', 'shared');
    assert.match(text.stdout, /\| Δm of modulation against shared \(%\) \| [+-]\d+\.\d{2} \[/);
    const unknown = await runCli('analyze', 'compare', out, 'modulation', 'mtan');
    assert.equal(unknown.code, 2);
    assert.match(unknown.log, /no row "mtan"; its rows: modulation, separate, csn, shared/);
    // --record also writes into the zoo entry.
    assert.equal(await fs.readFile(path.join(entry, 'results.md'), 'utf8'), markdown);
  });

  it('reports a metric never measured as – (two steps are all warm-up, so no step time)', async () => {
    const entry = path.join(workspace.dir, 'zoo', 'short');
    writeFiles(entry, { 'recipe.yaml': RECIPE, 'base.yaml': smallConfig() });
    const out = path.join(workspace.dir, 'short-out');
    const { code, log } = await runCli(
      'bench',
      entry,
      '--out',
      out,
      '--steps',
      '2',
      '--methods',
      'csn',
      '--seeds',
      '0',
    );
    assert.equal(code, 0, log);
    const results = JSON.parse(await fs.readFile(path.join(out, 'results.json'), 'utf8')) as BenchResults;
    assert.equal(results.steps, 2);
    assert.equal(results.rows[0]!.msPerStep.n, 0);
    const row = (await fs.readFile(path.join(out, 'results.md'), 'utf8'))
      .split('\n')
      .find((l) => l.startsWith('| csn'))!;
    assert.match(row, /\| – \| \d+\.\d+ \|$/);
  });

  it('refuses a broken recipe with the file, key path and line', async () => {
    const entry = path.join(workspace.dir, 'zoo', 'broken');
    writeFiles(entry, {
      'recipe.yaml': RECIPE.replace('baseline: separate', 'baseline: seperate').replace(
        'seeds: [0, 1]',
        'seeds: [0, -1]',
      ),
      'base.yaml': smallConfig(),
    });
    const { code, log } = await runCli('bench', entry);
    assert.equal(code, 2);
    assert.match(log, /recipe\.yaml: seeds\[1\]: .*>=0.* \(line 3\)/);
    const second = await runCli('bench', entry.replace('broken', 'missing'));
    assert.equal(second.code, 2);
    assert.match(second.log, /no zoo recipe here/);
  });

  it('reports a method the base config does not load, and bad method options, at the recipe before any run', async () => {
    const entry = path.join(workspace.dir, 'zoo', 'film');
    writeFiles(entry, {
      'recipe.yaml': RECIPE.replace('method: separate', 'method: embedding-film').replace(
        'masks: fixed',
        'masks: fixd',
      ),
      'base.yaml': smallConfig(),
    });
    const out = path.join(workspace.dir, 'film-out');
    const { code, log } = await runCli('bench', entry, '--out', out);
    assert.equal(code, 2);
    assert.match(
      log,
      /recipe\.yaml: methods\[1\]\.method: unknown method "embedding-film".*; the base config \.\/base\.yaml must list the plugin that provides it under plugins:/,
    );
    // Another --out: a folder is bound to the plan (methods, seeds) of its first bench (bench-resume.test.ts).
    const csn = await runCli('bench', entry, '--out', `${out}-csn`, '--methods', 'csn');
    assert.match(csn.log, /recipe\.yaml: methods\[2\]\.method\.options\.masks: .*"learned".*"fixed"/);
    // Nothing trained: only the generated input configs exist.
    const written = await fs.readdir(path.join(out, 'modulation'));
    assert.deepEqual(written.sort(), ['seed-0.input.yaml', 'seed-1.input.yaml']);
  });

  it('expands a grid into a row per method and point, each run at its values, Δm against the baseline at the same point', async () => {
    const entry = path.join(workspace.dir, 'zoo', 'grid');
    const recipe = `description: a sweep
config: ./base.yaml
seeds: [0]
baseline: shared
metrics: [triplet-accuracy]
methods:
  - label: modulation
    method: modulation
  - label: shared
    method: shared
grid:
  train.optimizer.lr: [0.001, 0.003]
  train.batch.tripletsPerTask: [2, 3]
`;
    writeFiles(entry, {
      'recipe.yaml': recipe,
      'base.yaml': smallConfig({ steps: 2, extra: '  optimizer: { type: adam }\n' }),
    });
    const out = path.join(workspace.dir, 'grid-out');
    const { code, log } = await runCli('bench', entry, '--out', out);
    assert.equal(code, 0, log);
    const results = JSON.parse(await fs.readFile(path.join(out, 'results.json'), 'utf8')) as BenchResults;
    const points = [
      'lr=0.001,tripletsPerTask=2',
      'lr=0.001,tripletsPerTask=3',
      'lr=0.003,tripletsPerTask=2',
      'lr=0.003,tripletsPerTask=3',
    ];
    assert.deepEqual(
      results.rows.map((r) => r.label),
      [...points.map((p) => `modulation@${p}`), ...points.map((p) => `shared@${p}`)],
    );
    for (const row of results.rows) {
      const config = await fs.readFile(path.join(row.runDirs[0]!, 'config.yaml'), 'utf8');
      const lr = row.point!['train.optimizer.lr'] as number;
      const triplets = row.point!['train.batch.tripletsPerTask'] as number;
      assert.match(config, new RegExp(`\\n    lr: ${lr}\\n`), row.label);
      assert.match(config, new RegExp(`tripletsPerTask: ${triplets}\\n`), row.label);
      assert.equal(row.deltaM === undefined, row.label.startsWith('shared@'), row.label);
    }
    const markdown = await fs.readFile(path.join(out, 'results.md'), 'utf8');
    assert.equal(markdown.split('| baseline |').length - 1, 4, markdown);
  });

  it('locates a bad grid key or value in the recipe, before anything trains', async () => {
    const entry = path.join(workspace.dir, 'zoo', 'bad-grid');
    const recipe = `description: a broken sweep
config: ./base.yaml
methods:
  - label: modulation
    method: modulation
grid:
  train.optimizer.lrr: [0.001]
  train.batch.tripletsPerTask: [2, -3]
  seed: [1, 2]
`;
    writeFiles(entry, {
      'recipe.yaml': recipe,
      'base.yaml': smallConfig({ steps: 2, extra: '  optimizer: { type: adam }\n' }),
    });
    const reserved = await runCli('bench', entry, '--out', path.join(workspace.dir, 'bad-grid-out'));
    assert.equal(reserved.code, 2);
    assert.match(
      reserved.log,
      /recipe\.yaml: grid\.seed: cannot be swept: seeds are listed under seeds \(line 9\)/,
    );
    writeFiles(entry, { 'recipe.yaml': recipe.replace('  seed: [1, 2]\n', '') });
    const out = path.join(workspace.dir, 'bad-grid-out2');
    const { code, log } = await runCli('bench', entry, '--out', out);
    assert.equal(code, 2, log);
    assert.match(log, /recipe\.yaml: grid\.train\.optimizer\.lrr\[0\]: unknown key .*"lr".* \(line 7\)/);
    assert.match(log, /recipe\.yaml: grid\.train\.batch\.tripletsPerTask\[1\]: .* \(line 8\)/);
    assert.doesNotMatch(log, /tripletsPerTask\[0\]/);
    await assert.rejects(
      fs.stat(path.join(out, 'modulation@lrr=0.001,tripletsPerTask=2', 'seed-0')),
      /ENOENT/,
    );
  });
});
