import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MtlzooError } from '../src/errors.js';
import { ConfigError } from '../src/errors.js';
import { Kernel } from '../src/kernel/kernel.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { tempDir, writeFiles } from './helpers/files.js';

const VALID = `seed: 3
backbone: tiny
method:
  name: modulation
  options:
    form: vector
dataset: shapes
train:
  steps: 10
`;

let workspace: ReturnType<typeof tempDir>;
const kernel = () => new Kernel({ logger: createMemoryLogger() });

before(() => {
  workspace = tempDir();
});
after(() => workspace.cleanup());

/** Writes the files into a fresh folder and loads `main`; returns the error's issues. */
async function issuesOf(files: Record<string, string>, main = 'exp.yaml') {
  const dir = path.join(workspace.dir, `case-${Math.random().toString(36).slice(2)}`);
  writeFiles(dir, files);
  try {
    await kernel().loadConfig(path.join(dir, main));
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return { issues: error.issues, message: error.message, dir };
  }
  return assert.fail('the config was accepted');
}

/** Asserts one issue at `keyPath` in file `file` whose message matches `pattern`. */
async function expectIssue(
  files: Record<string, string>,
  file: string,
  keyPath: string,
  pattern: RegExp,
  main?: string,
): Promise<void> {
  const { issues, message } = await issuesOf(files, main);
  const found = issues.find((i) => i.path === keyPath && path.basename(i.file) === file);
  assert.ok(found, `no issue at ${file}: ${keyPath}; got:\n${message}`);
  assert.match(found.message, pattern);
  assert.ok(message.includes(`${file}: ${keyPath ? `${keyPath}: ` : ''}`), message);
}

describe('config: resolution', () => {
  it('fills every default, merges an extends chain and hashes the result', async () => {
    const dir = path.join(workspace.dir, 'chain');
    writeFiles(dir, {
      'base.yaml': VALID,
      'exp.yaml': 'extends: ./base.yaml\ntrain:\n  steps: 25\nmethod:\n  options:\n    form: matrix\n',
    });
    const loaded = await kernel().loadConfig(path.join(dir, 'exp.yaml'));
    assert.equal(loaded.config.train.steps, 25);
    assert.equal(loaded.config.seed, 3);
    assert.equal(loaded.config.method.name, 'modulation');
    assert.equal(loaded.config.method.options.form, 'matrix');
    assert.equal(loaded.config.backend.name, 'auto');
    assert.equal(loaded.config.loss.name, 'triplet');
    assert.equal(loaded.config.loss.options.margin, 0.2);
    assert.equal(loaded.config.train.optimizer.type, 'adagrad');
    assert.deepEqual(
      loaded.config.evaluators.map((e) => e.name),
      ['triplet-accuracy', 'retrieval', 'storage'],
    );
    assert.deepEqual(
      loaded.files.map((f) => path.basename(f)),
      ['exp.yaml', 'base.yaml'],
    );
    assert.match(loaded.hash, /^[0-9a-f]{16}$/);

    // The same experiment written in one file has the same hash; a changed value changes it.
    writeFiles(dir, {
      'flat.yaml': VALID.replace('steps: 10', 'steps: 25').replace('form: vector', 'form: matrix'),
    });
    assert.equal((await kernel().loadConfig(path.join(dir, 'flat.yaml'))).hash, loaded.hash);
    writeFiles(dir, {
      'other.yaml': VALID.replace('steps: 10', 'steps: 26').replace('form: vector', 'form: matrix'),
    });
    assert.notEqual((await kernel().loadConfig(path.join(dir, 'other.yaml'))).hash, loaded.hash);
  });

  it('replaces an optimiser whole when an override changes its type', async () => {
    const dir = path.join(workspace.dir, 'retype');
    writeFiles(dir, {
      'base.yaml': VALID.replace('steps: 10', 'steps: 10\n  optimizer: { type: adam, lr: 0.01, beta1: 0.8 }'),
      'exp.yaml': 'extends: base.yaml\ntrain:\n  optimizer: { type: sgd }\n',
    });
    const { config } = await kernel().loadConfig(path.join(dir, 'exp.yaml'));
    assert.deepEqual(config.train.optimizer, { type: 'sgd', lr: 0.01, momentum: 0.9, nesterov: false });
  });

  it('replaces a plugin reference whole when an override names another plugin', async () => {
    const dir = path.join(workspace.dir, 'rename');
    writeFiles(dir, { 'base.yaml': VALID, 'exp.yaml': 'extends: base.yaml\nmethod: shared\n' });
    const loaded = await kernel().loadConfig(path.join(dir, 'exp.yaml'));
    assert.equal(loaded.config.method.name, 'shared');
    assert.equal('form' in loaded.config.method.options, false);
  });

  for (const [file, text] of [
    ['mtlzoo.config.yaml', VALID],
    [
      '.mtlzoorc.json',
      JSON.stringify({ seed: 3, backbone: 'tiny', method: 'modulation', dataset: 'shapes' }),
    ],
    [
      'mtlzoo.config.ts',
      `export default { seed: 3, backbone: 'tiny', method: 'modulation', dataset: 'shapes' };\n`,
    ],
    [
      'package.json',
      JSON.stringify({
        name: 'x',
        mtlzoo: { seed: 3, backbone: 'tiny', method: 'modulation', dataset: 'shapes' },
      }),
    ],
  ] as const) {
    it(`finds ${file} by cosmiconfig search from a subfolder`, async () => {
      const dir = path.join(workspace.dir, `search-${file}`);
      writeFiles(dir, { [file]: text, 'package.json.keep': '', 'sub/deeper/.keep': '' });
      if (file !== 'package.json') writeFiles(dir, { 'package.json': '{"name":"x"}' });
      const loaded = await kernel().loadConfig(undefined, path.join(dir, 'sub', 'deeper'));
      assert.equal(path.basename(loaded.file), file);
      assert.equal(loaded.config.seed, 3);
    });
  }

  it('says where it looked when no config is found', async () => {
    const dir = path.join(workspace.dir, 'none');
    writeFiles(dir, { 'package.json': '{"name":"x"}' });
    await assert.rejects(kernel().loadConfig(undefined, dir), (error: MtlzooError) => {
      assert.equal(error.code, 'CONFIG_NOT_FOUND');
      assert.match(error.message, /mtlzoo\.config/);
      return true;
    });
  });
});

describe('config: malformed files name the file, the key path and what was expected', () => {
  it('a string where a number belongs', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('seed: 3', 'seed: abc') },
      'exp.yaml',
      'seed',
      /expected a number, got string "abc"/,
    ));

  it('a fraction where an integer belongs', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('seed: 3', 'seed: 1.5') },
      'exp.yaml',
      'seed',
      /expected an integer/,
    ));

  it('an unknown top-level key, with a hint', () =>
    expectIssue(
      { 'exp.yaml': `${VALID}trian:\n  steps: 3\n` },
      'exp.yaml',
      'trian',
      /unknown key \(did you mean "train"\?\)/,
    ));

  it('an unknown nested key, with a hint', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('steps: 10', 'stpes: 10') },
      'exp.yaml',
      'train.stpes',
      /did you mean "steps"/,
    ));

  it('an unknown method name, listing the known ones', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('name: modulation', 'name: modulaton') },
      'exp.yaml',
      'method.name',
      /unknown method "modulaton" \(did you mean "modulation"\?\); known methods: .*shared/,
    ));

  it('an unknown backend name', () =>
    expectIssue(
      { 'exp.yaml': `${VALID}backend: tpu\n` },
      'exp.yaml',
      'backend.name',
      /unknown backend "tpu".*cpu.*\(or "auto"\)/,
    ));

  it('an unknown evaluator in a list', () =>
    expectIssue(
      { 'exp.yaml': `${VALID}evaluators: [retrieval, recal]\n` },
      'exp.yaml',
      'evaluators[1].name',
      /unknown evaluator "recal"/,
    ));

  it('a missing required field', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('dataset: shapes\n', '') },
      'exp.yaml',
      'dataset',
      /required: expected a mapping/,
    ));

  it('a list where a mapping belongs', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('train:\n  steps: 10', 'train: [10]') },
      'exp.yaml',
      'train',
      /expected a mapping, got a list/,
    ));

  it('a scalar where a mapping belongs', () =>
    expectIssue(
      { 'exp.yaml': `${VALID}output: runs\n` },
      'exp.yaml',
      'output',
      /expected a mapping, got string "runs"/,
    ));

  it('a whole file that is a list', () =>
    expectIssue(
      { 'exp.yaml': '- seed: 1\n' },
      'exp.yaml',
      '',
      /expected a mapping of config keys, got a list/,
    ));

  it('a number out of range', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('steps: 10', 'steps: 0') },
      'exp.yaml',
      'train.steps',
      /expected number to be >0|too small/i,
    ));

  it('a value outside an enumeration in plugin options', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('form: vector', 'form: diagonal') },
      'exp.yaml',
      'method.options.form',
      /vector.*matrix|matrix.*vector/,
    ));

  it('an unknown key in plugin options', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('form: vector', 'form: vector\n    stagez: [embedding]') },
      'exp.yaml',
      'method.options.stagez',
      /unknown key \(did you mean "stages"\?\)/,
    ));

  it('a stage the backbone does not have (a plugin cross-check)', () =>
    expectIssue(
      {
        'exp.yaml': VALID.replace('backbone: tiny', 'backbone: facenet-small').replace(
          'form: vector',
          'form: vector\n    stages: [block4, res9]',
        ),
      },
      'exp.yaml',
      'method.options.stages[1]',
      /expected a stage of backbone facenet-small.*got "res9"/,
    ));

  it('a best-checkpoint metric no evaluator reports', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('steps: 10', 'steps: 10\n  selectBy: mAP@5') },
      'exp.yaml',
      'train.selectBy',
      /expected a metric the evaluators report \(triplet-accuracy, mAP@1, .*mAP@10.*params\.total.*\), got "mAP@5" \(line 10\)/,
    ));

  it('an unknown optimizer type', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('steps: 10', 'steps: 10\n  optimizer:\n    type: rmsprop') },
      'exp.yaml',
      'train.optimizer.type',
      /adagrad|adam|sgd/,
    ));

  it('a negative learning rate', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('steps: 10', 'steps: 10\n  optimizer:\n    type: adam\n    lr: -1') },
      'exp.yaml',
      'train.optimizer.lr',
      />0|positive|too small/i,
    ));

  it('plugins given as a string instead of a list', () =>
    expectIssue({ 'exp.yaml': `${VALID}plugins: ./mine.js\n` }, 'exp.yaml', 'plugins', /expected a list/));

  it('a plugin path that does not exist', () =>
    expectIssue(
      { 'exp.yaml': `${VALID}plugins: [./missing-plugin.js]\n` },
      'exp.yaml',
      'plugins[0]',
      /plugin path not found: \.\/missing-plugin\.js/,
    ));

  it('a plugin package that is not installed', () =>
    expectIssue(
      { 'exp.yaml': `${VALID}plugins: [mtlzoo-plugin-nowhere]\n` },
      'exp.yaml',
      'plugins[0]',
      /"mtlzoo-plugin-nowhere" is not installed/,
    ));

  it('an extends chain with a cycle', () =>
    expectIssue(
      {
        'exp.yaml': `extends: ./a.yaml\n${VALID}`,
        'a.yaml': 'extends: ./b.yaml\n',
        'b.yaml': 'extends: ./a.yaml\n',
      },
      'b.yaml',
      'extends',
      /extends cycle: .*a\.yaml → .*b\.yaml → .*a\.yaml/,
    ));

  it('a missing base file', () =>
    expectIssue(
      { 'exp.yaml': `extends: ./nowhere.yaml\n${VALID}` },
      'exp.yaml',
      'extends',
      /base config not found: \.\/nowhere\.yaml/,
    ));

  it('extends that is not a path', () =>
    expectIssue(
      { 'exp.yaml': `extends: 42\n${VALID}` },
      'exp.yaml',
      'extends',
      /expected a file path or a list of file paths, got number 42/,
    ));

  it('invalid YAML, with its line', () =>
    expectIssue({ 'exp.yaml': `${VALID}method: [unclosed\n` }, 'exp.yaml', '', /invalid YAML at line \d+/));

  it('a key given twice in YAML', () =>
    expectIssue(
      { 'exp.yaml': `${VALID}seed: 4\n` },
      'exp.yaml',
      '',
      /invalid YAML at line 10: Map keys must be unique/,
    ));

  it('invalid JSON, with its line', () =>
    expectIssue(
      { 'exp.json': '{\n  "seed": 3,\n  "backbone": tiny"\n}\n' },
      'exp.json',
      '',
      /invalid JSON at line 3/,
      'exp.json',
    ));

  it('an error in a base file names the base file and its line', async () => {
    const { issues } = await issuesOf({
      'base.yaml': VALID.replace('steps: 10', 'steps: ten'),
      'exp.yaml': 'extends: ./base.yaml\nseed: 4\n',
    });
    assert.equal(issues.length, 1);
    assert.equal(path.basename(issues[0]!.file), 'base.yaml');
    assert.equal(issues[0]!.path, 'train.steps');
    assert.match(issues[0]!.message, /expected a number, got string "ten" \(line 9\)/);
  });

  it('reports every problem of a file at once', async () => {
    const { issues } = await issuesOf({
      'exp.yaml': VALID.replace('seed: 3', 'seed: x')
        .replace('steps: 10', 'steps: -2')
        .replace('form: vector', 'form: 7'),
    });
    // Plugin options are checked even when the config's own shape has errors.
    assert.deepEqual(issues.map((i) => i.path).sort(), ['method.options.form', 'seed', 'train.steps']);
  });
});

describe('config: messages say what is wrong, where, and how to fix it', () => {
  it('refuses a trailing comma in JSON, with its line', () =>
    expectIssue(
      { 'exp.json': '{\n  "backbone": "tiny",\n  "method": "modulation",\n  "dataset": "shapes",\n}\n' },
      'exp.json',
      '',
      /invalid JSON at line 4: a trailing comma \(JSON allows none\)/,
      'exp.json',
    ));

  it('names NaN and infinities as such', async () => {
    const { issues } = await issuesOf({
      'exp.yaml': VALID.replace('seed: 3', 'seed: .nan').replace('steps: 10', 'clipNorm: .inf'),
    });
    assert.match(issues.find((i) => i.path === 'seed')!.message, /got NaN \(not a number\)/);
    assert.match(
      issues.find((i) => i.path === 'train.clipNorm')!.message,
      /got Infinity \(not a finite number\)/,
    );
  });

  it('refuses batch weights that are all zero at load time', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('steps: 10', 'steps: 10\n  batch: { weights: [0, 0, 0] }') },
      'exp.yaml',
      'train.batch.weights',
      /expected at least one weight above 0/,
    ));

  it('bounds numbers that size memory, naming the bound', async () => {
    const { issues } = await issuesOf({
      'exp.yaml':
        VALID.replace(
          'backbone: tiny',
          'backbone: { name: tiny, options: { inputSize: 1000000, embeddingDim: 100000 } }',
        )
          .replace('dataset: shapes', 'dataset: { name: shapes, options: { counts: { train: 1e9 } } }')
          .replace(
            'steps: 10',
            'steps: 10\n  batch: { tripletsPerTask: 1e9 }\n  probe: { tripletsPerTask: 1e9 }',
          ) + 'evaluators: [{ name: triplet-accuracy, options: { tripletsPerTask: 1e9 } }]\n',
    });
    const message = (p: string) => issues.find((i) => i.path === p)?.message ?? `no issue at ${p}`;
    assert.match(message('backbone.options.inputSize'), /expected at most 1,024 pixels, got number 1000000/);
    assert.match(message('backbone.options.embeddingDim'), /expected at most 4,096 channels/);
    assert.match(
      message('train.batch.tripletsPerTask'),
      /expected at most 4,096 triplets per task in a batch/,
    );
    assert.match(message('train.probe.tripletsPerTask'), /expected at most 4,096 triplets per task/);
    assert.match(
      message('evaluators[0].options.tripletsPerTask'),
      /expected at most 1,000,000 triplets per task/,
    );
    assert.match(message('dataset.options.counts.train'), /expected at most 1,000,000 per split/);
  });

  it('does not blame a base file for a default; says it is the default and how to set it', async () => {
    const { issues } = await issuesOf({
      'base.yaml': 'train:\n  steps: 5\n',
      'exp.yaml':
        'extends: ./base.yaml\nbackbone: tiny\nmethod: modulation\ndataset: shapes\nevaluators: [storage]\n',
    });
    assert.equal(issues.length, 1);
    assert.equal(path.basename(issues[0]!.file), 'exp.yaml');
    assert.equal(issues[0]!.path, 'train.selectBy');
    assert.match(
      issues[0]!.message,
      /not set, so it is the default "triplet-accuracy": no evaluator reports it \(they report params\.total.*\); set train\.selectBy in this file/,
    );
  });

  it('says what is wrong with a script config: no default export', () =>
    expectIssue(
      { 'exp.mjs': 'export const config = { backbone: "tiny", method: "modulation", dataset: "shapes" };\n' },
      'exp.mjs',
      '',
      /the module has no default export: .*export default \{ … \}.*; it exports only: config/,
      'exp.mjs',
    ));

  it('says what is wrong with a script config: ES module syntax without "type": "module"', async () => {
    const dir = path.join(workspace.dir, 'esm');
    writeFiles(dir, {
      'exp.js': 'export default { backbone: "tiny", method: "modulation", dataset: "shapes" };\n',
    });
    // Loaded as bin/mtlzoo.js loads configs (tsx's ESM hooks only), in a process of its own: the tests'
    // own loader would accept the file.
    const script = `
      import { register } from 'tsx/esm/api';
      register({ tsconfig: 'tsconfig.json' });
      const { readConfigSource } = await import('./src/config/read.ts');
      await readConfigSource(process.argv[1], 'exp.js').then(() => console.log('loaded'), (e) => console.log(e.message));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '--eval', script, path.join(dir, 'exp.js')],
      { cwd: path.join(import.meta.dirname, '..') },
    );
    assert.match(
      stdout,
      /exp\.js: cannot load: it uses ES module syntax \(export\/import\), but Node loads a \.js file as CommonJS .*add "type": "module" .*or rename the file to \.mjs/,
    );
  });

  it('lists the presets for an unknown one, and refuses an attribute listed twice', async () => {
    await expectIssue(
      {
        'exp.yaml': VALID.replace(
          'dataset: shapes',
          'dataset: { name: celeba, options: { root: x, attributes: paper8 } }',
        ),
      },
      'exp.yaml',
      'dataset.options.attributes',
      /expected "all", a preset \(paper7\) or a list of attribute names, got string "paper8"/,
    );
    await expectIssue(
      {
        'exp.yaml': VALID.replace(
          'dataset: shapes',
          'dataset: { name: celeba, options: { root: x, attributes: [Smiling, Bald, Smiling] } }',
        ),
      },
      'exp.yaml',
      'dataset.options.attributes',
      /^attribute "Smiling" is listed twice; list each attribute once \(line \d+\)$/,
    );
  });

  it('lists an optimiser type’s keys for an unknown one', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('steps: 10', 'steps: 10\n  optimizer: { type: adam, learningRate: 0.1 }') },
      'exp.yaml',
      'train.optimizer.learningRate',
      /unknown key; expected one of: type, lr, beta1, beta2, epsilon/,
    ));

  it('says a plugin without options takes none', () =>
    expectIssue(
      { 'exp.yaml': VALID.replace('name: modulation', 'name: separate') },
      'exp.yaml',
      'method.options.form',
      /unknown key: method "separate" takes no options/,
    ));

  it('spells plural kinds right', () =>
    expectIssue(
      { 'exp.yaml': `${VALID}loss: tripplet\n` },
      'exp.yaml',
      'loss.name',
      /unknown loss "tripplet" \(did you mean "triplet"\?\); known losses: margin-ranking, triplet/,
    ));
});
