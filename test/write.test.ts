/**
 * The write module, JSONL logs and folder locks (issue #10, defects 3, 5, 7): atomic durable writes with
 * short temp names, one-line file errors (real ENOTDIR and ENAMETOOLONG, injected ENOSPC and EACCES —
 * root ignores permissions, and no small file system can be mounted here), torn log records, orphan temps,
 * and locks refused, taken over when stale, released.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MtlzooError } from '../src/errors.js';
import { cutTornTail, readJsonl } from '../src/util/jsonl.js';
import { FolderLock, LOCK_FILE } from '../src/util/lock.js';
import { createMemoryLogger } from '../src/util/logger.js';
import {
  appendLine,
  ensureDir,
  removeOrphanTemps,
  setWriteFault,
  tempPathFor,
  writeFileAtomic,
} from '../src/util/write.js';
import { tempDir } from './helpers/files.js';

/** The one-line MtlzooError a failed file operation must give. */
async function fileFailure(operation: Promise<unknown>): Promise<MtlzooError> {
  const error = await operation.then(
    () => assert.fail('expected a file error'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof MtlzooError, `not an MtlzooError: ${String(error)}`);
  assert.equal(error.code, 'FILE_IO');
  assert.equal(error.exitCode, 1);
  assert.ok(!error.message.includes('\n'), error.message);
  return error;
}

describe('durable writes', () => {
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => {
    setWriteFault(undefined);
    workspace.cleanup();
  });

  it('write atomically with a short temp name, even for a 250-byte file name', async () => {
    const target = path.join(workspace.dir, 'deep', `${'r'.repeat(245)}.html`);
    assert.ok(Buffer.byteLength(path.basename(tempPathFor(target))) <= 32);
    await writeFileAtomic(target, 'one');
    await writeFileAtomic(target, new Uint8Array([116, 119, 111]));
    assert.equal(await fs.readFile(target, 'utf8'), 'two');
    assert.deepEqual(await fs.readdir(path.dirname(target)), [path.basename(target)]);
  });

  it('fail in one line naming the path and the cause: ENOTDIR, ENAMETOOLONG (real), ENOSPC, EACCES (injected)', async () => {
    const file = path.join(workspace.dir, 'a-file');
    await fs.writeFile(file, 'x');
    const notDir = await fileFailure(writeFileAtomic(path.join(file, 'sub', 'out.json'), '{}'));
    assert.equal(
      notDir.message,
      `cannot create folder ${path.join(file, 'sub')}: ${file} is a file, not a folder (ENOTDIR)`,
    );
    const long = path.join(workspace.dir, 'n'.repeat(300));
    assert.match(
      (await fileFailure(ensureDir(long))).message,
      /^cannot create folder .*n{300}: name too long .* \(ENAMETOOLONG\)$/,
    );

    const target = path.join(workspace.dir, 'results.json');
    await writeFileAtomic(target, 'kept');
    setWriteFault('ENOSPC@results.json');
    assert.equal(
      (await fileFailure(writeFileAtomic(target, 'lost'))).message,
      `cannot write ${target}: no space left on the device (ENOSPC)`,
    );
    setWriteFault('EACCES@results.json');
    assert.equal(
      (await fileFailure(writeFileAtomic(target, 'lost'))).message,
      `cannot write ${target}: permission denied (EACCES)`,
    );
    // The old content stands and no temp file is left.
    assert.equal(await fs.readFile(target, 'utf8'), 'kept');
    assert.deepEqual(await fs.readdir(workspace.dir), ['a-file', 'results.json']);
  });

  it('a fault from the N-th matching write on, as a disk that fills up and stays full', async () => {
    const log = path.join(workspace.dir, 'metrics.jsonl');
    setWriteFault('ENOSPC@metrics.jsonl#3');
    await appendLine(log, '{"step":1}');
    await appendLine(log, '{"step":2}');
    assert.match(
      (await fileFailure(appendLine(log, '{"step":3,"loss":0.25}'))).message,
      /^cannot append to .*metrics\.jsonl: no space left on the device \(ENOSPC\)$/,
    );
    await fileFailure(appendLine(log, '{"step":3}'));
    setWriteFault(undefined);
    // The failed append left half a record: a torn tail, found and cut.
    const { records, torn } = await readJsonl(log);
    assert.deepEqual(records, [{ step: 1 }, { step: 2 }]);
    assert.deepEqual(torn && { line: torn.line, offset: torn.offset }, { line: 3, offset: 22 });
    await cutTornTail(log, torn!);
    await appendLine(log, '{"step":3}');
    assert.deepEqual((await readJsonl(log)).records, [{ step: 1 }, { step: 2 }, { step: 3 }]);
  });

  it('JSONL: a damaged last record is a torn tail, a damaged middle one an error with its line', async () => {
    const log = path.join(workspace.dir, 'm.jsonl');
    for (const tail of ['{"step":3', '\0\0\0\0\n', '{"step":3}garbage\n']) {
      await fs.writeFile(log, `{"step":1}\n\n{"step":2}\n${tail}`);
      const { records, torn } = await readJsonl(log);
      assert.deepEqual(records, [{ step: 1 }, { step: 2 }], JSON.stringify(tail));
      assert.equal(torn?.line, 4);
    }
    await fs.writeFile(log, '{"step":1}\n{"ste\n{"step":3}\n');
    await assert.rejects(readJsonl(log), new RegExp(`${log.replace(/[.]/g, '\\.')}:2: not a JSON record`));
    assert.deepEqual(await readJsonl(path.join(workspace.dir, 'none.jsonl')), { records: [] });
  });

  it('remove the temp files a killed writer left, and only those', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const orphan = `.mtlzoo-${dead}-0123abcd.tmp`;
    const live = `.mtlzoo-${process.ppid}-0123abcd.tmp`;
    const own = path.basename(tempPathFor(path.join(workspace.dir, 'x')));
    for (const name of [orphan, live, own, '.hidden.tmp'])
      await fs.writeFile(path.join(workspace.dir, name), 'half');
    assert.deepEqual(await removeOrphanTemps(workspace.dir), [
      { file: path.join(workspace.dir, orphan), bytes: 4 },
    ]);
    assert.deepEqual((await fs.readdir(workspace.dir)).sort(), ['.hidden.tmp', live, own].sort());
  });
});

describe('folder locks', () => {
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => workspace.cleanup());

  const plant = (holder: object) => fs.writeFile(path.join(workspace.dir, LOCK_FILE), JSON.stringify(holder));

  it('refuse a second writer naming the holder, and free the folder on release', async () => {
    const log = createMemoryLogger();
    const lock = await FolderLock.acquire(workspace.dir, 'run', log);
    const holder = JSON.parse(await fs.readFile(path.join(workspace.dir, LOCK_FILE), 'utf8')) as {
      pid: number;
      host: string;
    };
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.host, os.hostname());
    const refused = await FolderLock.acquire(workspace.dir, 'run', log).catch((e: MtlzooError) => e);
    assert.ok(refused instanceof MtlzooError);
    assert.equal(refused.code, 'LOCKED');
    assert.equal(refused.exitCode, 2);
    assert.match(
      refused.message,
      new RegExp(
        `is in use by another run: locked by pid ${process.pid} on ${os.hostname()} since \\S+ \\(mtlzoo .*\\); wait for it to finish or stop it`,
      ),
    );
    lock.release();
    await assert.rejects(fs.stat(path.join(workspace.dir, LOCK_FILE)), /ENOENT/);
    (await FolderLock.acquire(workspace.dir, 'run', log)).release();
    assert.deepEqual(log.lines, []);
  });

  it('take over the lock of a dead process, of a reused pid and an unreadable one, with a warning', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    const log = createMemoryLogger();
    await plant({
      pid: dead,
      host: os.hostname(),
      started: new Date().toISOString(),
      command: 'mtlzoo train',
    });
    (await FolderLock.acquire(workspace.dir, 'run', log)).release();
    assert.match(
      log.lines[0]!,
      new RegExp(`took over the lock of pid ${dead} .* which is no longer running`),
    );
    // This process's pid, but the lock is older than the process: the pid was reused.
    await plant({ pid: process.pid, host: os.hostname(), started: '2001-01-01T00:00:00.000Z', command: '' });
    (await FolderLock.acquire(workspace.dir, 'run', log)).release();
    assert.match(log.lines[1]!, new RegExp(`took over the lock of pid ${process.pid} on`));
    await fs.writeFile(path.join(workspace.dir, LOCK_FILE), '\0\0\0');
    (await FolderLock.acquire(workspace.dir, 'run', log)).release();
    assert.match(log.lines[2]!, /replaced an unreadable lock file/);
  });

  it('never guess a lock of another host stale', async () => {
    await plant({ pid: 1, host: 'elsewhere', started: new Date().toISOString(), command: 'mtlzoo bench' });
    await assert.rejects(
      FolderLock.acquire(workspace.dir, 'bench', createMemoryLogger()),
      new RegExp(
        `in use by another bench: locked by pid 1 on elsewhere .*; if nothing on elsewhere writes it any more, remove .*${LOCK_FILE.replace('.', '\\.')}`,
      ),
    );
  });
});
