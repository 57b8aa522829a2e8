/**
 * Every file mtlzoo writes goes through here, so that durability is decided in one place:
 *
 * - whole files are written to a temp file in the target's folder (a short name, so that a target name
 *   near the 255-byte limit still has a valid temp name), flushed to disk with fsync, renamed over the
 *   target, and the folder is synced: a reader sees the old file or the whole new one, even after a crash;
 * - records are appended to JSONL logs in one write each; a record torn by a crash or a full disk is
 *   found and cut by `readJsonl`/`cutTornTail` (jsonl.ts);
 * - every file-system error becomes one line naming the path and the cause (`FILE_IO`, exit 1), never a
 *   stack trace;
 * - temp files name their writer's pid, so the ones a killed process left are recognised and removed by
 *   `removeOrphanTemps`, while those of a process still writing (a concurrent decode into a shared cache
 *   folder) are kept.
 *
 * Faults can be injected for tests (`MTLZOO_WRITE_FAULT`, see `setWriteFault`), on real processes too.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MtlzooError, isMtlzooError } from '../errors.js';

/** Temp files: `.mtlzoo-<writer pid>-<8 hex>.tmp`, under 30 bytes whatever the target's name. */
const TEMP_NAME = /^\.mtlzoo-(\d+)-[0-9a-f]{8}\.tmp$/;

/** A temp name in the target's folder, so the final rename never crosses file systems. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.mtlzoo-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** The writing process of a temp made by `tempPathFor`; undefined for other names. */
export function parseTempName(name: string): { pid: number } | undefined {
  const match = TEMP_NAME.exec(name);
  return match ? { pid: Number(match[1]) } : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A short reason for a failed file operation, for one-line messages. */
export function ioReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EEXIST':
    case 'ENOTDIR':
      return 'a file is in the way (expected a folder)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'ENAMETOOLONG':
      return 'name too long (at most 255 bytes per name, 4095 per path)';
    case 'ENOENT':
      return 'not found';
    case 'EISDIR':
      return 'a folder, expected a file';
    default:
      return code ? `${code}: ${(error as Error).message}` : (error as Error).message;
  }
}

/** The first existing ancestor of `target` that is not a folder, when there is one. */
async function fileInTheWay(target: string): Promise<string | undefined> {
  for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat) return stat.isDirectory() ? undefined : dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** One line for a failed file operation: what, the path, the cause and its code. */
export async function fileError(action: string, target: string, error: unknown): Promise<MtlzooError> {
  if (isMtlzooError(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const blocker = code === 'ENOTDIR' ? await fileInTheWay(target) : undefined;
  const cause = blocker ? `${blocker} is a file, not a folder` : ioReason(error);
  return new MtlzooError(
    'FILE_IO',
    `cannot ${action} ${target}: ${cause}${code && !cause.startsWith(code) ? ` (${code})` : ''}`,
  );
}

async function guard<T>(action: string, target: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw await fileError(action, target, error);
  }
}

// ---- fault injection ------------------------------------------------------------------------------

interface WriteFault {
  readonly code: string;
  /** Writes whose target path contains this fail. */
  readonly match: string;
  /** The first matching write that fails (1-based); every later one fails too, as on a full disk. */
  readonly from: number;
  seen: number;
}

let fault: WriteFault | undefined;

/**
 * Makes writes fail as the file system would: `CODE@SUBSTRING[#N]` fails the N-th (default first) and
 * every later write whose path contains SUBSTRING with error CODE (e.g. `ENOSPC@metrics.jsonl#3`). An
 * append that fails writes half its record first, as a disk filling up mid-record does. `undefined`
 * clears it. The environment variable MTLZOO_WRITE_FAULT sets it for a whole process.
 */
export function setWriteFault(spec: string | undefined): void {
  if (!spec) {
    fault = undefined;
    return;
  }
  const parsed = /^([A-Z]+)@([^#]+)(?:#(\d+))?$/.exec(spec);
  if (!parsed) {
    throw new MtlzooError('USAGE', `MTLZOO_WRITE_FAULT: expected CODE@PATH-PART[#N], got "${spec}"`, 2);
  }
  fault = { code: parsed[1]!, match: parsed[2]!, from: Number(parsed[3] ?? 1), seen: 0 };
}

setWriteFault(process.env.MTLZOO_WRITE_FAULT);

function injected(target: string): NodeJS.ErrnoException | undefined {
  if (!fault || !target.includes(fault.match)) return undefined;
  fault.seen += 1;
  if (fault.seen < fault.from) return undefined;
  return Object.assign(new Error(`${fault.code}: injected write fault, write '${target}'`), {
    code: fault.code,
  });
}

// ---- writing --------------------------------------------------------------------------------------

/** Creates a folder and its parents. */
export async function ensureDir(dir: string): Promise<void> {
  await guard('create folder', dir, () => fs.mkdir(dir, { recursive: true }));
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename itself durable. Some file systems cannot sync a folder; the rename still stands.
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}

/**
 * Writes `data` to `target` atomically and durably: temp file, fsync, rename, folder sync. On failure
 * the temp file is removed and `target` is untouched.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(target);
  await ensureDir(dir);
  const temp = tempPathFor(target);
  try {
    const handle = await fs.open(temp, 'wx');
    try {
      const fault = injected(target);
      if (fault) throw fault;
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw await fileError('write', target, error);
  }
  await syncDir(dir);
}

/** Appends one record (a line) to a log in one write. */
export async function appendLine(target: string, line: string): Promise<void> {
  const text = line.endsWith('\n') ? line : `${line}\n`;
  await guard('append to', target, async () => {
    const fault = injected(target);
    if (fault) {
      // A disk that fills up mid-record leaves part of it behind.
      await fs.appendFile(target, text.slice(0, Math.ceil(text.length / 2)));
      throw fault;
    }
    await fs.appendFile(target, text);
  });
}

/** Flushes a file to disk (e.g. a log before the checkpoint that its records belong to). */
export async function syncFile(target: string): Promise<void> {
  const handle = await fs.open(target, 'r+').catch(() => undefined);
  if (!handle) return;
  try {
    await guard('flush', target, () => handle.sync());
  } finally {
    await handle.close();
  }
}

/** Removes a file or folder; a missing one is not an error. */
export async function removePath(target: string): Promise<void> {
  await guard('remove', target, () => fs.rm(target, { recursive: true, force: true }));
}

/**
 * Removes the temps in `dir` whose writer is gone (a process killed mid-write never reaches its cleanup).
 * A temp whose process still runs is being written and is kept.
 */
export async function removeOrphanTemps(dir: string): Promise<{ file: string; bytes: number }[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: { file: string; bytes: number }[] = [];
  for (const name of names) {
    const temp = parseTempName(name);
    if (!temp || temp.pid === process.pid || processAlive(temp.pid)) continue;
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) continue;
    await removePath(file);
    removed.push({ file, bytes: stat.size });
  }
  return removed;
}
