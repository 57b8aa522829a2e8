/**
 * File helpers shared by every dataset: atomic writes and their orphaned temps, cache folders, and text
 * reading whose errors name the file (and line) and say what was expected, as DATA_INVALID.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { MtlzooError } from '../errors.js';

export function dataError(message: string): MtlzooError {
  return new MtlzooError('DATA_INVALID', message);
}

/** `file:line: message`, the form editors and terminals link to. */
export function lineError(file: string, line: number, message: string): MtlzooError {
  return dataError(`${file}:${line}: ${message}`);
}

/** A temp name in the target's folder, so the final rename never crosses file systems. */
export function tempPathFor(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** The target name and writing process of a temp made by `tempPathFor`; undefined for other names. */
export function parseTempName(name: string): { target: string; pid: number } | undefined {
  const match = TEMP_NAME.exec(name);
  return match ? { target: match[1]!, pid: Number(match[2]) } : undefined;
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

/**
 * Removes the temps in `dir` whose writer is gone (a process killed mid-write never reaches its cleanup),
 * for the targets `accept` picks. A temp whose process still runs is being written and is kept.
 */
export async function removeOrphanTemps(
  dir: string,
  accept: (target: string) => boolean,
): Promise<{ file: string; bytes: number }[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: { file: string; bytes: number }[] = [];
  for (const name of names) {
    const temp = parseTempName(name);
    if (!temp || !accept(temp.target) || temp.pid === process.pid || processAlive(temp.pid)) continue;
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) continue;
    await fs.rm(file, { force: true });
    removed.push({ file, bytes: stat.size });
  }
  return removed;
}

/**
 * Creates `dir` (and parents) for writing, or says in one line why it cannot: a file in the way, or no
 * permission. `what` names the folder's role and `hint` how to choose another.
 */
export async function ensureWritableDirectory(dir: string, what: string, hint: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (error) {
    throw dataError(`${dir}: cannot use it as ${what}: ${ioReason(error)} (${hint})`);
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
    case 'ENOENT':
      return 'not found';
    case 'EISDIR':
      return 'a folder, expected a file';
    default:
      return code ? `${code}: ${(error as Error).message}` : (error as Error).message;
  }
}

/** Writes `data` to a temp file and renames it over `target`: readers see the old file or the whole new one. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  try {
    await fs.writeFile(temp, data);
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

export async function requireDirectory(dir: string, what: string): Promise<void> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw dataError(`${dir}: ${what} not found (expected a folder)`);
}

export async function readText(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw dataError(`${file}: ${what} not found`);
    throw dataError(`${file}: cannot read ${what}: ${ioReason(error)}`);
  }
}

export interface TextLine {
  /** 1-based line number in the file. */
  readonly number: number;
  readonly text: string;
}

/** Lines with their numbers, without line terminators (LF or CRLF); blank lines are dropped. */
export function nonBlankLines(content: string): TextLine[] {
  const out: TextLine[] = [];
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.replace(/\r$/, '');
    if (text.trim() !== '') out.push({ number: i + 1, text });
  }
  return out;
}

/** Splits one CSV line (RFC 4180 quoting, `""` for a quote inside quotes). */
export function splitCsvLine(text: string, file: string, line: number): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw lineError(file, line, 'unterminated quoted field (expected a closing ")');
  out.push(field);
  return out;
}

/** Whitespace-separated fields (runs of spaces or tabs count as one separator). */
export function fields(text: string): string[] {
  return text.trim().split(/\s+/);
}

/** A non-negative integer field, or a line error saying what was expected. */
export function parseIndex(token: string, file: string, line: number, what: string): number {
  if (!/^\d+$/.test(token))
    throw lineError(file, line, `expected ${what} as a non-negative integer, got "${token}"`);
  return Number(token);
}

/**
 * Size and modification time of each file (null where it cannot be read), `concurrency` at a time: a
 * cheap stand-in for the content, so that a replaced or repaired file changes a cache key.
 */
export async function fileStamps(
  files: readonly string[],
  concurrency = 64,
): Promise<([size: number, mtimeMs: number] | null)[]> {
  const out = new Array<[number, number] | null>(files.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      const stat = await fs.stat(files[i]!).catch(() => undefined);
      out[i] = stat ? [stat.size, stat.mtimeMs] : null;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}
