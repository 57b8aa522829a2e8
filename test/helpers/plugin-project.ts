/**
 * The plugin-project path of docs/plugins.md, end to end: `mtlzoo new plugin` writes one plugin of every
 * kind into a project, mtlzoo is installed there, the scaffold's own tests run, the real CLI trains a few
 * steps with all seven plugins loaded by path, and another project loads them by package name.
 *
 * Two installs: `linked` puts symlinks to this checkout (and its mocha, tsx, TypeScript) in the project's
 * node_modules, fast enough for `npm test`; `tarball` does what the guide says, `npm pack` of this working
 * tree and `npm install` of the tarball (`npm run test:project`: the install takes a minute or two).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kernel } from '../../src/kernel/kernel.js';
import { PLUGIN_KINDS } from '../../src/plugin/types.js';
import { createMemoryLogger } from '../../src/util/logger.js';
import { runCli } from './cli.js';
import { tempDir } from './files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One plugin of every kind, named as a user might. */
const PLUGINS = {
  backend: 'cpu-copy',
  backbone: 'small-cnn',
  method: 'embedding-film',
  loss: 'soft-margin',
  dataset: 'stripes',
  evaluator: 'mrr',
  weighting: 'slow-first',
} as const;

/** All seven plugins in one small run. */
const ALL_PLUGINS_CONFIG = (plugins: string) => `plugins: [${plugins}]
seed: 1
backend: ${PLUGINS.backend}
backbone: { name: ${PLUGINS.backbone}, options: { inputSize: 16, width: 4, embeddingDim: 8 } }
method: ${PLUGINS.method}
loss: ${PLUGINS.loss}
dataset: { name: ${PLUGINS.dataset}, options: { counts: { train: 40, val: 12, test: 12 } } }
evaluators: [triplet-accuracy, ${PLUGINS.evaluator}]
train: { steps: 3, batch: { tripletsPerTask: 2 }, weighting: ${PLUGINS.weighting} }
`;

interface Output {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; on failure the error names it and carries its output. */
async function run(command: string, args: readonly string[], cwd: string): Promise<Output> {
  try {
    return await promisify(execFile)(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
  } catch (error) {
    const { stdout, stderr } = error as Output;
    throw new Error(`${path.basename(command)} ${args.join(' ')} (in ${cwd}) failed:\n${stdout}\n${stderr}`);
  }
}

const npm = (args: readonly string[], cwd: string) => run('npm', [...args, '--no-audit', '--no-fund'], cwd);

/** Links `node_modules/<name>` to `target`. */
function link(project: string, name: string, target: string): void {
  const at = path.join(project, 'node_modules', name);
  mkdirSync(path.dirname(at), { recursive: true });
  symlinkSync(target, at, 'dir');
}

/** The tools the scaffolded project lists as devDependencies, from this checkout. */
const LINKED_TOOLS = ['mocha', 'tsx', 'typescript', '@types/mocha', '@types/node'];

export function describePluginProject(install: 'linked' | 'tarball'): void {
  describe(`a plugin project with mtlzoo ${install === 'linked' ? 'linked' : 'installed from a packed tarball'}`, function () {
    this.timeout(900_000);
    let workspace: ReturnType<typeof tempDir>;
    let project: string;
    /** The mtlzoo CLI the project uses. */
    let bin: string;

    before(async () => {
      workspace = tempDir('mtlzoo-plugin-project-');
      project = path.join(workspace.dir, 'mtlzoo-plugins-demo');
      // Six plugins before mtlzoo is installed (the CLI of this checkout, in-process), the last after it.
      const [last, ...first] = [...PLUGIN_KINDS].reverse();
      for (const kind of first.reverse()) {
        const result = await runCli('new', 'plugin', kind, PLUGINS[kind], '--dir', project);
        assert.equal(result.code, 0, result.log);
      }
      if (install === 'linked') {
        link(project, 'mtlzoo', ROOT);
        for (const tool of LINKED_TOOLS) link(project, tool, path.join(ROOT, 'node_modules', tool));
        bin = path.join(ROOT, 'bin', 'mtlzoo.js');
      } else {
        // `npm pack` runs the prepare script (the build) first, so the tarball holds this working tree.
        const packed = await npm(['pack', '--pack-destination', workspace.dir], ROOT);
        const tarball = path.join(workspace.dir, packed.stdout.trim().split('\n').at(-1)!);
        const started = performance.now();
        await npm(['install', '--save-dev', '--prefer-offline', tarball], project);
        console.log(
          `      npm install of the tarball: ${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
        bin = path.join(project, 'node_modules', 'mtlzoo', 'bin', 'mtlzoo.js');
      }
      // Installed, the project's own mtlzoo adds a plugin: the templates ship in the package.
      const lastName = PLUGINS[last!];
      if (install === 'tarball')
        await run(process.execPath, [bin, 'new', 'plugin', last!, lastName, '--dir', '.'], project);
      else assert.equal((await runCli('new', 'plugin', last!, lastName, '--dir', project)).code, 0);
      writeFileSync(path.join(project, 'configs', 'all.yaml'), ALL_PLUGINS_CONFIG('..'));
    });
    after(() => workspace.cleanup());

    it("passes the scaffold's own tests: every plugin meets its kind's contract", async () => {
      const { stdout } =
        install === 'linked'
          ? await run(
              process.execPath,
              [path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js')],
              project,
            )
          : await npm(['test'], project);
      assert.match(stdout, /\b11 passing\b/);
      assert.doesNotMatch(stdout, /failing/);
    });

    if (install === 'tarball') {
      it("typechecks against mtlzoo's published types", async () => {
        await npm(['run', 'typecheck'], project);
      });
    }

    it('trains a few steps with all seven plugins loaded by path, through the real CLI', async () => {
      const { stdout } = await run(
        process.execPath,
        [bin, 'train', '-c', 'configs/all.yaml', '--out', path.join(workspace.dir, 'runs'), '--json'],
        project,
      );
      const summary = JSON.parse(stdout) as {
        steps: number;
        method: string;
        backbone: string;
        dataset: string;
        environment: { backend: string };
        test: { name: string; value: number }[];
      };
      assert.deepEqual(
        [summary.steps, summary.method, summary.backbone, summary.dataset, summary.environment.backend],
        [3, PLUGINS.method, PLUGINS.backbone, PLUGINS.dataset, PLUGINS.backend],
      );
      assert.ok(
        summary.test.some((m) => m.name === 'mrr' && Number.isFinite(m.value)),
        stdout,
      );
      assert.equal(readdirSync(path.join(workspace.dir, 'runs')).length, 1);
    });

    it('loads the plugins by package name from another project', async () => {
      const consumer = path.join(project, 'consumer');
      mkdirSync(consumer);
      writeFileSync(path.join(consumer, 'package.json'), '{ "name": "consumer", "private": true }\n');
      writeFileSync(path.join(consumer, 'exp.yaml'), ALL_PLUGINS_CONFIG('mtlzoo-plugins-demo'));
      if (install === 'linked') {
        link(consumer, 'mtlzoo-plugins-demo', project);
        const kernel = new Kernel({ logger: createMemoryLogger() });
        await kernel.loadConfig(path.join(consumer, 'exp.yaml'));
        const sources = kernel.registries.all().filter(({ entry }) => entry.source !== 'builtin');
        assert.deepEqual(
          sources.map(({ kind, entry }) => [kind, entry.plugin.name, entry.source]),
          PLUGIN_KINDS.map((kind) => [kind, PLUGINS[kind], 'npm:mtlzoo-plugins-demo@0.1.0']),
        );
        return;
      }
      const packed = await npm(['pack', '--pack-destination', workspace.dir], project);
      const tarball = path.join(workspace.dir, packed.stdout.trim().split('\n').at(-1)!);
      // The consumer sits inside the project and so finds the project's mtlzoo; --legacy-peer-deps keeps npm
      // from installing the peer a second time (a real consumer has mtlzoo installed itself).
      await npm(['install', '--prefer-offline', '--legacy-peer-deps', tarball], consumer);
      const { stdout } = await run(process.execPath, [bin, 'plugins', '-c', 'exp.yaml', '--json'], consumer);
      const rows = JSON.parse(stdout) as { kind: string; name: string; source: string }[];
      assert.deepEqual(
        rows.filter((r) => r.source !== 'builtin').map((r) => [r.kind, r.name, r.source]),
        PLUGIN_KINDS.map((kind) => [kind, PLUGINS[kind], 'npm:mtlzoo-plugins-demo@0.1.0']),
      );
      const checked = await run(process.execPath, [bin, 'config', 'check', 'exp.yaml'], consumer);
      assert.match(checked.stdout, /exp\.yaml: valid/);
    });
  });
}
