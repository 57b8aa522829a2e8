import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type * as Api from '../src/index.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import * as tf from '../src/tf.js';
import { runCli } from './helpers/cli.js';
import { tempDir, writeFiles } from './helpers/files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('CLI', () => {
  let workspace: ReturnType<typeof tempDir>;
  before(() => {
    workspace = tempDir();
    writeFiles(workspace.dir, {
      'good.yaml': 'backbone: tiny\nmethod: modulation\ndataset: shapes\ntrain:\n  steps: 7\n',
      'bad.yaml': 'backbone: tiny\nmethod: modulaton\ndataset: shapes\ntrain:\n  steps: -1\n',
    });
  });
  after(() => workspace.cleanup());
  afterEach(async () => {
    await tf.setBackend('cpu');
  });

  it('plugins --json lists every registered plugin with kind, name, version and source', async () => {
    const { code, stdout } = await runCli('plugins', '--json');
    assert.equal(code, 0);
    const rows = JSON.parse(stdout) as { kind: string; name: string; version: string; source: string }[];
    for (const [kind, name] of [
      ['backend', 'wasm'],
      ['backbone', 'tiny'],
      ['method', 'modulation'],
      ['loss', 'triplet'],
      ['dataset', 'shapes'],
      ['evaluator', 'retrieval'],
      ['weighting', 'pcgrad'],
    ]) {
      const row = rows.find((r) => r.kind === kind && r.name === name);
      assert.ok(row, `${kind} ${name} missing`);
      assert.equal(row.source, 'builtin');
      assert.match(row.version, /^\d+\.\d+\.\d+/);
    }
  });

  it('plugins --kind filters, and a bad kind is a usage error', async () => {
    const { stdout } = await runCli('plugins', '--kind', 'loss');
    assert.match(stdout, /^KIND\s+NAME\s+VERSION\s+SOURCE/);
    assert.deepEqual(
      stdout
        .trim()
        .split('\n')
        .slice(2)
        .map((l) => l.split(/\s+/)[0]),
      ['loss', 'loss'],
    );
    const bad = await runCli('plugins', '--kind', 'losses');
    assert.equal(bad.code, 2);
    assert.match(
      bad.log,
      /--kind: expected one of backend, backbone, method, loss, dataset, evaluator, weighting, got "losses"/,
    );
  });

  it('config print shows the resolved config with defaults and its hash', async () => {
    const { code, stdout } = await runCli('config', 'print', path.join(workspace.dir, 'good.yaml'));
    assert.equal(code, 0);
    assert.match(stdout, /^# hash: [0-9a-f]{16}$/m);
    const printed = parse(stdout) as {
      train: { steps: number; optimizer: { type: string } };
      backend: { name: string };
    };
    assert.equal(printed.train.steps, 7);
    assert.equal(printed.train.optimizer.type, 'adagrad');
    assert.equal(printed.backend.name, 'auto');
    const json = await runCli('config', 'print', '--json', path.join(workspace.dir, 'good.yaml'));
    const parsed = JSON.parse(json.stdout) as { hash: string };
    assert.ok(stdout.includes(parsed.hash));
  });

  it('config check exits 0 for a valid file and 2 with every error for a broken one', async () => {
    const good = await runCli('config', 'check', path.join(workspace.dir, 'good.yaml'));
    assert.equal(good.code, 0);
    assert.match(good.stdout, /good\.yaml: valid/);
    const bad = await runCli('config', 'check', path.join(workspace.dir, 'bad.yaml'));
    assert.equal(bad.code, 2);
    assert.match(bad.log, /bad\.yaml: train\.steps: .* \(line 5\)/);
    assert.equal(bad.stdout, '');
  });

  it('backend reports the choice and the reasons', async () => {
    const { code, stdout } = await runCli('backend', '--json');
    assert.equal(code, 0);
    const choice = JSON.parse(stdout) as {
      name: string;
      attempts: { name: string; selected: boolean; reason: string }[];
    };
    assert.ok(choice.attempts.some((a) => a.name === 'tensorflow' && /not installed/.test(a.reason)));
    assert.ok(choice.attempts.some((a) => a.selected && a.name === choice.name));
  });

  it('the built package (dist/, made by npm install) loads and knows its version', async () => {
    const built = path.join(ROOT, 'dist', 'src', 'index.js');
    const api = (await import(built).catch((error: Error) => {
      throw new Error(`cannot load ${built} (run npm run build): ${error.message}`);
    })) as typeof Api;
    assert.deepEqual(new api.Kernel().registries.of('method').names(), [
      'adapters',
      'asen',
      'cross-stitch',
      'csn',
      'film',
      'mmoe',
      'modulation',
      'mtan',
      'separate',
      'shared',
      'task-bn',
      'task-routing',
    ]);
    const { MTLZOO_VERSION } = (await import(path.join(ROOT, 'dist', 'src', 'engine', 'environment.js'))) as {
      MTLZOO_VERSION: string;
    };
    assert.equal(
      MTLZOO_VERSION,
      (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });

  it('an unknown command is a usage error', async () => {
    const { code } = await runCli('trian');
    assert.equal(code, 2);
  });

  it('the installed bin runs as a real process, from any folder', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin', 'mtlzoo.js'), 'plugins', '--kind', 'backend', '--json'],
      {
        cwd: ROOT,
      },
    );
    const names = (JSON.parse(stdout) as { name: string }[]).map((r) => r.name).sort();
    assert.deepEqual(names, ['cpu', 'tensorflow', 'tensorflow-gpu', 'wasm', 'webgpu']);
    // From a folder without the project's tsconfig, the sources (decorators included) must still compile.
    const failed = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin', 'mtlzoo.js'), 'config', 'check', 'bad.yaml'],
      { cwd: workspace.dir },
    ).catch((error: { code: number; stderr: string }) => error);
    assert.equal((failed as { code: number }).code, 2);
    assert.match(
      (failed as { stderr: string }).stderr,
      /^mtlzoo: bad\.yaml: .*method\.name: unknown method "modulaton"/ms,
    );
    const good = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin', 'mtlzoo.js'), 'config', 'check', 'good.yaml'],
      { cwd: workspace.dir },
    );
    assert.match(good.stdout, /^good\.yaml: valid/);
  });
});
