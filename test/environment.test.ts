/**
 * The environment recorded with every run names the code: mtlzoo's git commit when it runs from a checkout
 * (checked against git itself on a repository made here), nothing when it is an installed package; and the
 * native pack's thread count, on which its sums depend.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nativePackUnavailableReason } from '../src/backend/wasm-native.js';
import { describeEnvironment, nativePackNote, openMpThreads } from '../src/engine/environment.js';
import { checkoutCommit } from '../src/util/package.js';
import { tempDir } from './helpers/files.js';

describe('environment: the commit of the code', function () {
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => workspace.cleanup());

  const git = (dir: string, ...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      encoding: 'utf8',
    }).trim();

  it('is the checkout HEAD, -dirty once a tracked file changes, and not for untracked files', async function () {
    const repo = workspace.dir;
    git(repo, 'init', '-q');
    await fs.writeFile(path.join(repo, 'a.txt'), 'one\n');
    git(repo, 'add', 'a.txt');
    git(repo, 'commit', '-q', '-m', 'first');
    const head = git(repo, 'rev-parse', 'HEAD');
    assert.match(head, /^[0-9a-f]{40}$/);
    assert.equal(checkoutCommit(repo), head);
    await fs.writeFile(path.join(repo, 'untracked.txt'), 'x\n');
    assert.equal(checkoutCommit(repo), head, 'an untracked file leaves the commit clean');
    await fs.writeFile(path.join(repo, 'a.txt'), 'two\n');
    assert.equal(checkoutCommit(repo), `${head}-dirty`);
  });

  it('is null for a folder that is not a checkout top, even inside a repository', async function () {
    const repo = workspace.dir;
    git(repo, 'init', '-q');
    // An installed package: node_modules/mtlzoo inside the user's own repository.
    const installed = path.join(repo, 'node_modules', 'mtlzoo');
    await fs.mkdir(installed, { recursive: true });
    assert.equal(checkoutCommit(installed), null);
    assert.equal(checkoutCommit(path.join(repo, 'missing')), null);
  });
});

describe('environment: the native pack threads', function () {
  it('are the first number of OMP_NUM_THREADS, else every core the process may use', function () {
    assert.equal(openMpThreads({ OMP_NUM_THREADS: '3' }), 3);
    assert.equal(openMpThreads({ OMP_NUM_THREADS: '4,2' }), 4, 'nested levels: the outer one');
    for (const unset of [{}, { OMP_NUM_THREADS: '' }, { OMP_NUM_THREADS: '0' }, { OMP_NUM_THREADS: 'x' }])
      assert.equal(openMpThreads(unset), os.availableParallelism());
  });

  it('are recorded with the native pack only, and said where a result ran', function () {
    const wasm = describeEnvironment({ name: 'wasm', tfBackendName: 'wasm', attempts: [] });
    const cpu = describeEnvironment({ name: 'cpu', tfBackendName: 'cpu', attempts: [] });
    assert.equal(cpu.threads, null);
    assert.equal(wasm.nativePack, nativePackUnavailableReason() === undefined);
    assert.equal(wasm.threads, wasm.nativePack ? openMpThreads() : null);
    assert.equal(nativePackNote({ nativePack: true, threads: 1 }), ' with the native pack on 1 thread');
    assert.equal(nativePackNote({ nativePack: true, threads: 2 }), ' with the native pack on 2 threads');
    assert.equal(nativePackNote({ nativePack: true, threads: null }), ' with the native pack');
    assert.equal(nativePackNote({ nativePack: false, threads: null }), '');
  });
});
