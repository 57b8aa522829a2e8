/**
 * JSON-lines logs that survive crashes. Each record is appended in one write ending in a newline, so the
 * only damage a crash or a full disk can do is to the last record: a line without its newline, or one
 * that does not parse (a partly written or zero-filled block). Such a tail is "torn": readers skip it, and
 * a resumed writer cuts it (`cutTornTail`) and says so. Damage anywhere else is an error naming the line.
 */
import { promises as fs } from 'node:fs';
import { MtlzooError } from '../errors.js';
import { fileError } from './write.js';

export interface TornTail {
  /** 1-based line number of the torn record. */
  readonly line: number;
  /** Byte offset where it starts: the file's length once cut. */
  readonly offset: number;
  readonly bytes: number;
}

export interface JsonlContent {
  readonly records: Record<string, unknown>[];
  readonly torn?: TornTail;
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The records of a log (none when it does not exist), and its torn tail if any. */
export async function readJsonl(file: string): Promise<JsonlContent> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [] };
    throw await fileError('read', file, error);
  }
  const records: Record<string, unknown>[] = [];
  let offset = 0;
  let line = 0;
  while (offset < bytes.length) {
    line += 1;
    const end = bytes.indexOf(0x0a, offset);
    const complete = end >= 0;
    const text = bytes.subarray(offset, complete ? end : bytes.length).toString('utf8');
    const next = complete ? end + 1 : bytes.length;
    const isLast = next >= bytes.length;
    if (text.trim() === '' && complete) {
      offset = next;
      continue;
    }
    const record = complete ? parseRecord(text) : undefined;
    if (record === undefined) {
      if (isLast) return { records, torn: { line, offset, bytes: bytes.length - offset } };
      throw new MtlzooError('DATA_INVALID', `${file}:${line}: not a JSON record`);
    }
    records.push(record);
    offset = next;
  }
  return { records };
}

/** Cuts a torn tail found by `readJsonl`, so that appends continue after the last whole record. */
export async function cutTornTail(file: string, torn: TornTail): Promise<void> {
  try {
    await fs.truncate(file, torn.offset);
  } catch (error) {
    throw await fileError('truncate', file, error);
  }
}
