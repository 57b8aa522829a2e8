/**
 * CelebA in its official layout: img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt and the
 * optional identity_CelebA.txt. Each chosen attribute is a binary task; the official partition gives the
 * splits; triplets are drawn from the labels by the sampler (the protocol fixes none).
 */
import path from 'node:path';
import { closestMatch } from '../errors.js';
import type { Dataset, DatasetSplit, SplitName, TaskInfo } from '../kinds/dataset.js';
import { SPLIT_NAMES } from '../kinds/dataset.js';
import type { OnBadImage } from './cache.js';
import { fields, lineError, nonBlankLines, parseIndex, readText, requireDirectory } from './files.js';
import type { FitMode } from './image.js';
import { openFileSplit, type FileDatasetContext } from './split.js';

export const CELEBA_PRESETS = {
  /** The seven attributes Zhao et al. report on. */
  paper7: ['Smiling', 'Oval_Face', '5_o_Clock_Shadow', 'Bald', 'Arched_Eyebrows', 'Big_Lips', 'Big_Nose'],
} as const;

export interface AttributeTable {
  readonly names: readonly string[];
  readonly files: readonly string[];
  /** Row-major `files.length × names.length`, 0 for -1 and 1 for 1. */
  readonly values: Uint8Array;
  /** Line number of each row, for later messages. */
  readonly lines: readonly number[];
}

/** Parses list_attr_celeba.txt: a count line, a names line, then `file v1 … vK` rows with values -1 or 1. */
export function parseAttributeFile(content: string, file: string): AttributeTable {
  const lines = nonBlankLines(content);
  const countLine = lines[0];
  if (!countLine) throw lineError(file, 1, 'expected the image count, the file is empty');
  const countFields = fields(countLine.text);
  if (countFields.length !== 1) {
    throw lineError(file, countLine.number, `expected the image count alone, got "${countLine.text.trim()}"`);
  }
  const count = parseIndex(countFields[0]!, file, countLine.number, 'the image count');
  const namesLine = lines[1];
  if (!namesLine) throw lineError(file, countLine.number + 1, 'expected a line of attribute names');
  const names = fields(namesLine.text);
  if (names.some((n) => /^-?1$/.test(n) || /\.(jpe?g|png)$/i.test(n))) {
    throw lineError(file, namesLine.number, 'expected a line of attribute names, got a data row');
  }
  const rows = lines.slice(2);
  const values = new Uint8Array(rows.length * names.length);
  const files: string[] = [];
  const seen = new Map<string, number>();
  rows.forEach((row, r) => {
    const parts = fields(row.text);
    if (parts.length !== names.length + 1) {
      throw lineError(
        file,
        row.number,
        `expected a file name and ${names.length} values of -1 or 1, got ${parts.length} fields`,
      );
    }
    const name = parts[0]!;
    const earlier = seen.get(name);
    if (earlier !== undefined)
      throw lineError(file, row.number, `${name} is listed again (first on line ${earlier})`);
    seen.set(name, row.number);
    files.push(name);
    for (let k = 0; k < names.length; k++) {
      const value = parts[k + 1]!;
      if (value !== '1' && value !== '-1') {
        throw lineError(file, row.number, `value "${value}" for ${names[k]}: expected -1 or 1`);
      }
      values[r * names.length + k] = value === '1' ? 1 : 0;
    }
  });
  if (rows.length !== count) {
    throw lineError(
      file,
      countLine.number,
      `the count line says ${count} images, but ${rows.length} rows follow`,
    );
  }
  return { names, files, values, lines: rows.map((r) => r.number) };
}

/** Parses a `name value` file (list_eval_partition.txt, identity_CelebA.txt) into a map of integer values. */
export function parseNameValueFile(content: string, file: string, what: string, allowed?: readonly number[]) {
  const out = new Map<string, { value: number; line: number }>();
  for (const line of nonBlankLines(content)) {
    const parts = fields(line.text);
    if (parts.length !== 2)
      throw lineError(file, line.number, `expected "<image name> <${what}>", got ${parts.length} fields`);
    const value = parseIndex(parts[1]!, file, line.number, what);
    if (allowed && !allowed.includes(value)) {
      throw lineError(file, line.number, `${what} "${parts[1]}": expected one of ${allowed.join(', ')}`);
    }
    const earlier = out.get(parts[0]!);
    if (earlier)
      throw lineError(file, line.number, `${parts[0]} is listed again (first on line ${earlier.line})`);
    out.set(parts[0]!, { value, line: line.number });
  }
  return out;
}

/** Resolves the requested attribute names against the file's names line. */
export function selectAttributes(
  requested: 'all' | keyof typeof CELEBA_PRESETS | readonly string[],
  table: AttributeTable,
  file: string,
): number[] {
  if (requested === 'all') return table.names.map((_, k) => k);
  const wanted = typeof requested === 'string' ? CELEBA_PRESETS[requested] : requested;
  return wanted.map((name) => {
    const k = table.names.indexOf(name);
    if (k < 0) {
      const hint = closestMatch(name, table.names);
      throw lineError(
        file,
        2,
        `no attribute "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; the file has: ${table.names.join(', ')}`,
      );
    }
    return k;
  });
}

export interface CelebaOptions {
  readonly root: string;
  readonly attributes: 'all' | keyof typeof CELEBA_PRESETS | readonly string[];
  /** `positive`: anchors have the attribute (the authors' rule); `both`: anchors may have either value. */
  readonly anchor: 'positive' | 'both';
  /** Adds an `identity` task from identity_CelebA.txt. */
  readonly identity: boolean;
  /** Keeps only the first N images of each split (quick runs); absent keeps all. */
  readonly maxPerSplit?: number;
  readonly fit: FitMode;
  readonly onBadImage: OnBadImage;
}

const PARTITION: Record<number, SplitName> = { 0: 'train', 1: 'val', 2: 'test' };

export async function createCelebaDataset(
  options: CelebaOptions,
  context: FileDatasetContext,
): Promise<Dataset> {
  const root = path.resolve(options.root);
  await requireDirectory(root, 'CelebA root');
  const imageDir = path.join(root, 'img_align_celeba');
  await requireDirectory(imageDir, 'CelebA image folder img_align_celeba');
  const attrFile = path.join(root, 'list_attr_celeba.txt');
  const table = parseAttributeFile(await readText(attrFile, 'CelebA attribute list'), attrFile);
  const chosen = selectAttributes(options.attributes, table, attrFile);
  const partFile = path.join(root, 'list_eval_partition.txt');
  const partition = parseNameValueFile(
    await readText(partFile, 'CelebA partition list'),
    partFile,
    'split 0, 1 or 2',
    [0, 1, 2],
  );
  const idFile = path.join(root, 'identity_CelebA.txt');
  const identities = options.identity
    ? parseNameValueFile(await readText(idFile, 'CelebA identity list'), idFile, 'identity')
    : undefined;

  const rowsBySplit: Record<SplitName, number[]> = { train: [], val: [], test: [] };
  table.files.forEach((name, r) => {
    const part = partition.get(name);
    if (!part) throw lineError(attrFile, table.lines[r]!, `${name} has no line in ${partFile}`);
    if (identities && !identities.has(name))
      throw lineError(attrFile, table.lines[r]!, `${name} has no line in ${idFile}`);
    rowsBySplit[PARTITION[part.value]!].push(r);
  });

  const tasks: TaskInfo[] = chosen.map((k) => ({
    name: table.names[k]!,
    description: `has ${table.names[k]} or not`,
    factors: [table.names[k]!],
    labelNames: ['no', 'yes'],
    anchorLabels: options.anchor === 'positive' ? [1] : undefined,
  }));
  const identityIds = identities
    ? [...new Set([...identities.values()].map((v) => v.value))].sort((a, b) => a - b)
    : [];
  if (identities) {
    tasks.push({
      name: 'identity',
      description: 'same person',
      factors: ['identity'],
      labelNames: identityIds.map(String),
    });
  }
  const identityLabel = new Map(identityIds.map((id, k) => [id, k]));

  const splits: Partial<Record<SplitName, DatasetSplit>> = {};
  for (const split of SPLIT_NAMES) {
    const rows = rowsBySplit[split].slice(0, options.maxPerSplit);
    const labels = chosen.map((k) => Int32Array.from(rows, (r) => table.values[r * table.names.length + k]!));
    if (identities)
      labels.push(Int32Array.from(rows, (r) => identityLabel.get(identities.get(table.files[r]!)!.value)!));
    const sources = rows.map((r) => path.join(imageDir, table.files[r]!));
    splits[split] = await openFileSplit('celeba', split, { labels, sources }, options, context);
  }
  return {
    name: 'celeba',
    tasks,
    imageShape: [context.size[0], context.size[1], 3],
    splits: splits as Record<SplitName, DatasetSplit>,
  };
}
