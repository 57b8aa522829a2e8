import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openImageCache } from '../src/data/cache.js';
import { parseTempName } from '../src/util/write.js';
import { SLOW_REQUEST } from './fixtures/cache-probe.js';
import { recordingLogger } from './fixtures/data-log.js';
import { writeJpeg } from './fixtures/celeba.js';

const PROBE = path.join(import.meta.dirname, 'fixtures', 'cache-probe.ts');
const NOBODY = 65534;

/** Starts the probe script in its own node process (not through npx, so a signal reaches node itself). */
function probe(args: string[], options: { uid?: number } = {}) {
  return spawn(process.execPath, ['--import', 'tsx', '--conditions=mtlzoo-source', PROBE, ...args], {
    cwd: path.join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
}

/** The first folder from `dir` up that other users cannot pass through (mode without o+x), if any. */
async function closedToOthers(dir: string): Promise<string | undefined> {
  for (let at = dir; ; at = path.dirname(at)) {
    if (((await fs.stat(at)).mode & 0o001) === 0) return at;
    if (path.dirname(at) === at) return undefined;
  }
}

const oneLine = (message: string) =>
  assert.ok(!message.includes('\n') && !/\bat \S+ \(/.test(message), message);

describe('data: the decoded-image cache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-cache-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('removes the temp a decode killed by Ctrl-C left behind, at the next open', async () => {
    const child = probe(['slow', dir]);
    let output = '';
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => void (errors += chunk.toString()));
    // Interrupt once a few chunks are in the temp file.
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/decoding images 48\//.test(output)) child.kill('SIGINT');
      });
      child.on('exit', (_code, sig) => resolve(sig));
    });
    assert.equal(signal, 'SIGINT', `${output}\n${errors}`);
    const left = (await fs.readdir(dir)).filter((name) => parseTempName(name) !== undefined);
    assert.equal(left.length, 1, `left: ${left.join(', ')}`);
    assert.ok((await fs.stat(path.join(dir, left[0]!))).size >= 48 * 64 * 64 * 3);

    // A temp whose writer still runs (here: this test's parent process) is not touched.
    const live = `.mtlzoo-${process.ppid}-0badc0de.tmp`;
    await fs.writeFile(path.join(dir, live), 'in progress');

    const log = recordingLogger();
    const pixels = new Uint8Array(64 * 64 * 3).fill(9);
    const cached = await openImageCache({
      ...SLOW_REQUEST,
      cacheDir: dir,
      produce: () => Promise.resolve(pixels),
      source: (i) => `probe:${i}`,
      onBadImage: 'fail',
      log,
    });
    assert.equal(cached.store.count, SLOW_REQUEST.count);
    assert.ok(
      log.warnings.some((w) => w.includes(left[0]!) && w.includes('left by an interrupted decode')),
      log.warnings.join('\n'),
    );
    const remaining = (await fs.readdir(dir)).filter((name) => parseTempName(name) !== undefined);
    assert.deepEqual(remaining, [live]);
  });

  it('says in one line that a cache folder which is a file cannot be used, naming it', async () => {
    const file = path.join(dir, 'not-a-folder');
    await fs.writeFile(file, 'x');
    await assert.rejects(
      openImageCache({
        ...SLOW_REQUEST,
        cacheDir: file,
        produce: () => Promise.resolve(new Uint8Array(64 * 64 * 3)),
        source: (i) => `probe:${i}`,
        onBadImage: 'fail',
        log: recordingLogger(),
      }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'DATA_INVALID');
        oneLine(error.message);
        assert.match(
          error.message,
          /not-a-folder: cannot use it as the decoded-image cache folder: a file is in the way/,
        );
        assert.match(error.message, /output\.cacheDir/);
        return true;
      },
    );
  });

  it('names an unwritable cache folder and an unreadable image as such (not as corrupt)', async function () {
    const asRoot = process.getuid?.() === 0;
    // Root reads and writes whatever the modes say; the probe then runs as an unprivileged user, who must be
    // able to load the project (a clone inside /root or a private temp folder is closed to it).
    const closed = asRoot ? await closedToOthers(path.join(import.meta.dirname, '..')) : undefined;
    if (closed !== undefined) {
      this.test!.title += ` (skipped: ${closed} is closed to other users, so the unprivileged probe cannot load the project)`;
      this.skip();
    }
    await fs.chmod(dir, 0o755);
    await fs.mkdir(path.join(dir, 'locked'), { mode: 0o555 });
    await fs.chmod(path.join(dir, 'locked'), 0o555);
    await writeJpeg(path.join(dir, 'secret.jpg'), 8, 8, 1);
    await fs.chmod(path.join(dir, 'secret.jpg'), 0o000);
    const child = probe(['permissions', dir], asRoot ? { uid: NOBODY } : {});
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (errors += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, errors);
    const { cache, image } = JSON.parse(output) as { cache: string; image: string };
    oneLine(cache);
    assert.match(
      cache,
      /locked: cannot use it as the decoded-image cache folder: permission denied \(set output\.cacheDir/,
    );
    assert.equal(image, 'unreadable image: permission denied');
  });
});
