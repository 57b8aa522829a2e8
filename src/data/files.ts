/**
 * File helpers shared by every dataset: text reading whose errors name the file (and line) and say what
 * was expected, as DATA_INVALID. (Writing goes through src/util/write.ts.)
 */
import { promises as fs } from 'node:fs';
import { MtlzooError } from '../errors.js';

export function dataError(message: string): MtlzooError {
  return new MtlzooError('DATA_INVALID', message);
}

/** `file:line: message`, the form editors and terminals link to. */
export function lineError(file: string, line: number, message: string): MtlzooError {
  return dataError(`${file}:${line}: ${message}`);
}

export async function requireDirectory(dir: string, what: string): Promise<void> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw dataError(`${dir}: ${what} not found (expected a folder)`);
}

export async function readText(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw dataError(`${file}: ${what} not found`);
    throw dataError(`${file}: cannot read ${what}: ${(error as Error).message}`);
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
