/**
 * File helpers shared by every dataset: cache folders, and text reading whose errors name the file (and
 * line) and say what was expected, as DATA_INVALID. (Writing, temps and I/O reasons: src/util/write.ts.)
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import { MtlzooError } from '../errors.js';
import { ioReason } from '../util/write.js';

export function dataError(message: string): MtlzooError {
  return new MtlzooError('DATA_INVALID', message);
}

/** `file:line: message`, the form editors and terminals link to. */
export function lineError(file: string, line: number, message: string): MtlzooError {
  return dataError(`${file}:${line}: ${message}`);
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
