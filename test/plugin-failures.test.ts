/**
 * What a plugin throws reaches the user as one line naming the plugin, through the real CLI: the build
 * (dist/) a plugin's `import … from 'mtlzoo'` resolves to is the one running, so a plugin's MtlzooError is
 * mtlzoo's own, and TypeScript plugins load through tsx without a second mtlzoo.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kernel } from '../src/kernel/kernel.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { runCli } from './helpers/cli.js';
import { tempDir, writeFiles } from './helpers/files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A FiLM-like method whose create() throws what `FAIL` says: a plain Error or an MtlzooError. */
const FILM = `import { MtlzooError, definePlugin, z } from 'mtlzoo';

const shared = { kind: 'method', version: '0.1.0', description: 'fails', options: z.strictObject({}) } as const;

export default [
  definePlugin({
    ...shared,
    name: 'film-gpu',
    create() {
      throw new Error('no FiLM without a GPU');
    },
  }),
  definePlugin({
    ...shared,
    name: 'film-data',
    create() {
      throw new MtlzooError('DATA_INVALID', 'film-data needs 3 tasks, the dataset has 2');
    },
  }),
  definePlugin({
    ...shared,
    name: 'film-schema',
    options: z.strictObject({}).refine(() => {
      throw new TypeError('schema bug');
    }),
    create() {
      throw new Error('unreachable');
    },
  }),
];
`;

const config = (method: string) => `plugins: [./film.ts]
backend: cpu
backbone: { name: tiny, options: { inputSize: 16, channels: [4], embeddingDim: 4 } }
method: ${method}
dataset: { name: shapes, options: { counts: { train: 20, val: 8, test: 8 }, tasks: [colour, shape] } }
evaluators: [triplet-accuracy]
train: { steps: 1 }
`;

/** Runs the installed bin in `cwd`; returns exit code and output. */
async function mtlzoo(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin', 'mtlzoo.js'), ...args],
      { cwd, maxBuffer: 16 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe('a failing plugin', () => {
  let workspace: ReturnType<typeof tempDir>;
  before(() => {
    workspace = tempDir();
    const dir = workspace.dir;
    writeFiles(dir, {
      'package.json': '{ "type": "module" }\n',
      'film.ts': FILM,
      'plain.yaml': config('film-gpu'),
      'mtlzoo-error.yaml': config('film-data'),
      'schema.yaml': config('film-schema'),
      'params.yaml': config('shared'),
    });
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(ROOT, path.join(dir, 'node_modules', 'mtlzoo'), 'dir');
  });
  after(() => workspace.cleanup());

  it('whose create() throws an Error or an MtlzooError gives one line naming it, exit 1, in the real CLI', async () => {
    const plain = await mtlzoo(workspace.dir, 'train', '-c', 'plain.yaml', '--out', 'runs');
    assert.equal(plain.code, 1, plain.stderr);
    assert.equal(
      plain.stderr,
      'mtlzoo: method "film-gpu" (./film.ts): create failed: no FiLM without a GPU\n',
    );

    const own = await mtlzoo(workspace.dir, 'train', '-c', 'mtlzoo-error.yaml', '--out', 'runs', '--debug');
    assert.equal(own.code, 1, own.stderr);
    const [first, ...stack] = own.stderr.trimEnd().split('\n');
    assert.equal(
      first,
      'mtlzoo: method "film-data" (./film.ts): create failed: film-data needs 3 tasks, the dataset has 2',
    );
    // --debug adds the stack of the wrapped error and of the plugin's own, which names the plugin file.
    assert.match(stack.join('\n'), /caused by: MtlzooError: film-data needs 3 tasks[^]*film\.ts/);
  });

  it('whose options schema throws is named at config load, and params goes on past a failing method', async () => {
    const kernel = new Kernel({ logger: createMemoryLogger() });
    await assert.rejects(
      kernel.loadConfig(path.join(workspace.dir, 'schema.yaml')),
      (error: Error & { code: string; exitCode: number }) => {
        assert.equal(error.code, 'PLUGIN_FAILED');
        assert.equal(error.exitCode, 1);
        assert.match(
          error.message,
          /^method "film-schema" \(.*film\.ts\): options schema failed: schema bug$/,
        );
        return true;
      },
    );

    // The real process: no tfjs banner either, as params selects no backend.
    const params = await mtlzoo(workspace.dir, 'params', '-c', 'params.yaml', '--tasks', '2');
    assert.equal(params.code, 0, params.stderr);
    assert.match(params.stdout, /^shared\s+[\d,]+/m);
    assert.match(params.stdout, /^film-gpu \(failed\)\s+-/m);
    assert.match(
      params.stdout,
      /^film-gpu: method "film-gpu" \(\.\/film\.ts\): create failed: no FiLM without a GPU$/m,
    );
    assert.match(params.stdout, /^film-schema: method "film-schema" .*: options schema failed: schema bug$/m);
    assert.doesNotMatch(params.stdout + params.stderr, /Hi, looks like you are running TensorFlow\.js/);
  });

  it('a .ts plugin outside a "type": "module" package is told both fixes, not Node\'s require() cycle', async () => {
    const dir = path.join(workspace.dir, 'commonjs');
    writeFiles(dir, {
      'package.json': '{ "name": "lab-plugins" }\n',
      'film.ts': FILM,
      'exp.yaml': config('film-gpu'),
    });
    // The real process: in-process, the test runner's own TypeScript loader reads the file differently.
    const { code, stderr } = await mtlzoo(dir, 'config', 'check', 'exp.yaml');
    assert.equal(code, 2);
    assert.match(
      stderr,
      /plugins\[0\]: could not load plugin \.\/film\.ts \(.*\): it uses ES module syntax \(export\/import\), but Node loads a \.ts file as CommonJS .*; add "type": "module" to .*commonjs\/package\.json, or rename the file to \.mts/,
    );
    assert.doesNotMatch(stderr, /in a cycle/);
  });

  it('a backend plugin may not be called auto', async () => {
    writeFiles(workspace.dir, {
      'auto.mjs': `export default { kind: 'backend', name: 'auto', version: '1.0.0', description: 'x', options: { safeParse() {} }, create() {} };\n`,
      'auto.yaml': config('shared').replace('./film.ts', './auto.mjs'),
    });
    const { code, log } = await runCli('config', 'check', path.join(workspace.dir, 'auto.yaml'));
    assert.equal(code, 2);
    assert.match(log, /plugins\[0\]: path:.*auto\.mjs: plugin "auto" is not valid: name "auto" is reserved/);
  });
});
