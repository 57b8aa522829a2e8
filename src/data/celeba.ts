/**
 * CelebA in the official layout (img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt) or the
 * widespread Kaggle copy (img_align_celeba/img_align_celeba/, list_attr_celeba.csv,
 * list_eval_partition.csv), detected from the files present; identity_CelebA.txt is optional. Each
 * chosen attribute is a binary task; the official partition gives the splits; triplets are drawn from
 * the labels by the sampler (the protocol fixes none).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { closestMatch } from '../errors.js';
import type { Dataset, DatasetDescription, SplitDescription, SplitName, TaskInfo } from '../kinds/dataset.js';
import { SPLIT_NAMES } from '../kinds/dataset.js';
import type { OnBadImage } from './cache.js';
import {
  dataError,
  fields,
  lineError,
  nonBlankLines,
  parseIndex,
  readText,
  requireDirectory,
  splitCsvLine,
  type TextLine,
} from './files.js';
import type { FitMode } from './image.js';
import { describeSplit, openFileDataset, type FileDatasetContext } from './split.js';

/** The 40 attributes in the official order: the tasks of `attributes: all` when the data is not at hand. */
export const CELEBA_ATTRIBUTES = [
  '5_o_Clock_Shadow', 'Arched_Eyebrows', 'Attractive', 'Bags_Under_Eyes', 'Bald', 'Bangs', 'Big_Lips', 'Big_Nose',
  'Black_Hair', 'Blond_Hair', 'Blurry', 'Brown_Hair', 'Bushy_Eyebrows', 'Chubby', 'Double_Chin', 'Eyeglasses',
  'Goatee', 'Gray_Hair', 'Heavy_Makeup', 'High_Cheekbones', 'Male', 'Mouth_Slightly_Open', 'Mustache',
  'Narrow_Eyes', 'No_Beard', 'Oval_Face', 'Pale_Skin', 'Pointy_Nose', 'Receding_Hairline', 'Rosy_Cheeks',
  'Sideburns', 'Smiling', 'Straight_Hair', 'Wavy_Hair', 'Wearing_Earrings', 'Wearing_Hat', 'Wearing_Lipstick',
  'Wearing_Necklace', 'Wearing_Necktie', 'Young',
] as const; // prettier-ignore

export const CELEBA_PRESETS = {
  /** The seven attributes Zhao et al. report on. */
  paper7: ['Smiling', 'Oval_Face', '5_o_Clock_Shadow', 'Bald', 'Arched_Eyebrows', 'Big_Lips', 'Big_Nose'],
} as const;
export type CelebaPreset = keyof typeof CELEBA_PRESETS;

/** The two layouts CelebA is found in; the attribute list present tells them apart. */
export const CELEBA_LAYOUTS = [
  {
    name: 'official',
    attributes: 'list_attr_celeba.txt',
    partition: 'list_eval_partition.txt',
    images: 'img_align_celeba',
    csv: false,
  },
  {
    name: 'Kaggle',
    attributes: 'list_attr_celeba.csv',
    partition: 'list_eval_partition.csv',
    images: path.join('img_align_celeba', 'img_align_celeba'),
    csv: true,
  },
] as const;
export type CelebaLayout = (typeof CELEBA_LAYOUTS)[number];

const IDENTITY_FILE = 'identity_CelebA.txt';

function layoutText(layout: CelebaLayout): string {
  return `the ${layout.name} layout (${layout.attributes}, ${layout.partition}, ${layout.images}${path.sep})`;
}

/** The layout whose attribute list is in `root`; an error naming both layouts when neither is. */
export async function findCelebaLayout(root: string): Promise<CelebaLayout> {
  for (const layout of CELEBA_LAYOUTS) {
    const stat = await fs.stat(path.join(root, layout.attributes)).catch(() => undefined);
    if (stat) return layout;
  }
  throw dataError(
    `${root}: no CelebA attribute list; expected ${CELEBA_LAYOUTS.map(layoutText).join(' or ')}`,
  );
}

export interface AttributeTable {
  readonly names: readonly string[];
  /** Line of the attribute names, for messages about them. */
  readonly namesLine: number;
  readonly files: readonly string[];
  /** Row-major `files.length × names.length`, 0 for -1 and 1 for 1. */
  readonly values: Uint8Array;
  /** Line number of each row, for later messages. */
  readonly lines: readonly number[];
}

interface RawRow {
  readonly line: number;
  readonly parts: readonly string[];
}

/** Checks names and rows (shared by both formats) and packs the values. */
function attributeTable(file: string, names: string[], namesLine: number, rows: RawRow[]): AttributeTable {
  const column = new Map<string, number>();
  names.forEach((name, k) => {
    const earlier = column.get(name);
    if (earlier !== undefined) {
      throw lineError(
        file,
        namesLine,
        `attribute "${name}" is named twice (attributes ${earlier + 1} and ${k + 1}); each attribute needs a distinct name`,
      );
    }
    column.set(name, k);
  });
  const values = new Uint8Array(rows.length * names.length);
  const files: string[] = [];
  const seen = new Map<string, number>();
  rows.forEach(({ line, parts }, r) => {
    if (parts.length !== names.length + 1) {
      throw lineError(
        file,
        line,
        `expected a file name and ${names.length} values of -1 or 1, got ${parts.length} fields`,
      );
    }
    const name = parts[0]!.trim();
    const earlier = seen.get(name);
    if (earlier !== undefined)
      throw lineError(file, line, `${name} is listed again (first on line ${earlier})`);
    seen.set(name, line);
    files.push(name);
    for (let k = 0; k < names.length; k++) {
      const value = parts[k + 1]!.trim();
      if (value !== '1' && value !== '-1') {
        throw lineError(file, line, `value "${value}" for ${names[k]}: expected -1 or 1`);
      }
      values[r * names.length + k] = value === '1' ? 1 : 0;
    }
  });
  return { names, namesLine, files, values, lines: rows.map((r) => r.line) };
}

const looksLikeData = (names: readonly string[]) =>
  names.some((n) => /^-?1$/.test(n) || /\.(jpe?g|png)$/i.test(n));

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
  if (looksLikeData(names)) {
    throw lineError(file, namesLine.number, 'expected a line of attribute names, got a data row');
  }
  const rows = lines.slice(2).map((row) => ({ line: row.number, parts: fields(row.text) }));
  const table = attributeTable(file, names, namesLine.number, rows);
  if (rows.length !== count) {
    throw lineError(
      file,
      countLine.number,
      `the count line says ${count} images, but ${rows.length} rows follow`,
    );
  }
  return table;
}

/** Parses the Kaggle list_attr_celeba.csv: a header `image_id,<names>`, then `file,v1,…,vK` rows. */
export function parseAttributeCsv(content: string, file: string): AttributeTable {
  const lines = nonBlankLines(content);
  const header = lines[0];
  if (!header)
    throw lineError(file, 1, 'expected a header line "image_id,<attribute names>", the file is empty');
  const columns = splitCsvLine(header.text, file, header.number).map((c) => c.trim());
  if (columns.length < 2 || looksLikeData(columns)) {
    throw lineError(file, header.number, 'expected a header line "image_id,<attribute names>"');
  }
  const rows = lines
    .slice(1)
    .map((row) => ({ line: row.number, parts: splitCsvLine(row.text, file, row.number) }));
  return attributeTable(file, columns.slice(1), header.number, rows);
}

/** Lines of a `name value` file: whitespace-separated (.txt), or comma-separated after a header (.csv). */
function nameValueLines(content: string, file: string, csv: boolean, header: string): TextLine[] {
  const lines = nonBlankLines(content);
  if (!csv) return lines;
  const first = lines[0];
  if (!first) return [];
  const columns = splitCsvLine(first.text, file, first.number).map((c) => c.trim());
  if (columns.length !== 2 || /\.(jpe?g|png)$/i.test(columns[0]!)) {
    throw lineError(file, first.number, `expected the header line "${header}"`);
  }
  return lines.slice(1);
}

/**
 * Parses a `name value` file (list_eval_partition.txt or .csv, identity_CelebA.txt) into a map of integer
 * values with their lines.
 */
export function parseNameValueFile(
  content: string,
  file: string,
  what: string,
  options: { allowed?: readonly number[]; csv?: boolean; header?: string } = {},
): Map<string, { value: number; line: number }> {
  const csv = options.csv ?? false;
  const out = new Map<string, { value: number; line: number }>();
  for (const line of nameValueLines(content, file, csv, options.header ?? `image_id,${what}`)) {
    const parts = csv ? splitCsvLine(line.text, file, line.number).map((p) => p.trim()) : fields(line.text);
    if (parts.length !== 2) {
      const form = csv ? `<image name>,<${what}>` : `<image name> <${what}>`;
      throw lineError(file, line.number, `expected "${form}", got ${parts.length} fields`);
    }
    const value = parseIndex(parts[1]!, file, line.number, what);
    if (options.allowed && !options.allowed.includes(value)) {
      throw lineError(
        file,
        line.number,
        `${what} "${parts[1]}": expected one of ${options.allowed.join(', ')}`,
      );
    }
    const earlier = out.get(parts[0]!);
    if (earlier)
      throw lineError(file, line.number, `${parts[0]} is listed again (first on line ${earlier.line})`);
    out.set(parts[0]!, { value, line: line.number });
  }
  return out;
}

export type AttributeChoice = 'all' | CelebaPreset | readonly string[];

function requestedNames(requested: AttributeChoice, all: readonly string[]): readonly string[] {
  if (requested === 'all') return all;
  return typeof requested === 'string' ? CELEBA_PRESETS[requested] : requested;
}

/** Resolves the requested attribute names against the file's names line. */
export function selectAttributes(requested: AttributeChoice, table: AttributeTable, file: string): number[] {
  return requestedNames(requested, table.names).map((name) => {
    const k = table.names.indexOf(name);
    if (k < 0) {
      const hint = closestMatch(name, table.names);
      throw lineError(
        file,
        table.namesLine,
        `no attribute "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; the file has: ${table.names.join(', ')}`,
      );
    }
    return k;
  });
}

export interface CelebaOptions {
  readonly root: string;
  readonly attributes: AttributeChoice;
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
const NAME = 'celeba';

function attributeTask(name: string, options: CelebaOptions): TaskInfo {
  return {
    name,
    description: `has ${name} or not`,
    factors: [name],
    labelNames: ['no', 'yes'],
    anchorLabels: options.anchor === 'positive' ? [1] : undefined,
  };
}

function identityTask(labelNames: readonly string[]): TaskInfo {
  return { name: 'identity', description: 'same person', factors: ['identity'], labelNames };
}

/** The tasks the options name, without reading any file (identity labels are then unknown). */
export function celebaTasksFromOptions(options: CelebaOptions): TaskInfo[] {
  const tasks = requestedNames(options.attributes, CELEBA_ATTRIBUTES).map((n) => attributeTask(n, options));
  return options.identity ? [...tasks, identityTask([])] : tasks;
}

/** The first line of `map` whose name the attribute list lacks, as an error; lists must name the same images. */
function checkListedImages(
  map: ReadonlyMap<string, { line: number }>,
  table: AttributeTable,
  file: string,
  attrFile: string,
): void {
  const listed = new Set(table.files);
  const extra = [...map].filter(([name]) => !listed.has(name));
  if (extra.length === 0) return;
  const [name, { line }] = extra[0]!;
  throw lineError(
    file,
    line,
    `${name} is not in ${attrFile}` +
      (extra.length > 1 ? ` (nor are ${extra.length - 1} more image(s) listed here)` : '') +
      '; the lists must name the same images',
  );
}

/**
 * Tasks and splits from the list files, without decoding an image; without the root folder, the tasks
 * the options name and a note of what is missing.
 */
export async function describeCeleba(options: CelebaOptions): Promise<DatasetDescription> {
  const root = path.resolve(options.root);
  const rootStat = await fs.stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    return {
      name: NAME,
      tasks: celebaTasksFromOptions(options),
      missing: `${root}: CelebA root not found (expected a folder)`,
    };
  }
  const layout = await findCelebaLayout(root);
  const imageDir = path.join(root, layout.images);
  await requireDirectory(imageDir, `CelebA image folder ${layout.images} (${layout.name} layout)`);
  const attrFile = path.join(root, layout.attributes);
  const attrText = await readText(attrFile, 'CelebA attribute list');
  const table = layout.csv ? parseAttributeCsv(attrText, attrFile) : parseAttributeFile(attrText, attrFile);
  const chosen = selectAttributes(options.attributes, table, attrFile);
  const partFile = path.join(root, layout.partition);
  const partition = parseNameValueFile(
    await readText(partFile, 'CelebA partition list'),
    partFile,
    'partition',
    {
      allowed: [0, 1, 2],
      csv: layout.csv,
      header: 'image_id,partition',
    },
  );
  checkListedImages(partition, table, partFile, attrFile);
  const idFile = path.join(root, IDENTITY_FILE);
  const identities = options.identity
    ? parseNameValueFile(
        await readText(idFile, 'CelebA identity list (identity: true needs it)'),
        idFile,
        'identity',
      )
    : undefined;
  if (identities) checkListedImages(identities, table, idFile, attrFile);

  const rowsBySplit: Record<SplitName, number[]> = { train: [], val: [], test: [] };
  table.files.forEach((name, r) => {
    const part = partition.get(name);
    if (!part) throw lineError(attrFile, table.lines[r]!, `${name} has no line in ${partFile}`);
    if (identities && !identities.has(name))
      throw lineError(attrFile, table.lines[r]!, `${name} has no line in ${idFile}`);
    rowsBySplit[PARTITION[part.value]!].push(r);
  });

  const tasks = chosen.map((k) => attributeTask(table.names[k]!, options));
  const identityIds = identities
    ? [...new Set([...identities.values()].map((v) => v.value))].sort((a, b) => a - b)
    : [];
  if (identities) tasks.push(identityTask(identityIds.map(String)));
  const identityLabel = new Map(identityIds.map((id, k) => [id, k]));

  const splits = Object.fromEntries(
    SPLIT_NAMES.map((split, s) => {
      const rows = rowsBySplit[split].slice(0, options.maxPerSplit);
      const labels = chosen.map((k) =>
        Int32Array.from(rows, (r) => table.values[r * table.names.length + k]!),
      );
      if (identities)
        labels.push(Int32Array.from(rows, (r) => identityLabel.get(identities.get(table.files[r]!)!.value)!));
      const sources = rows.map((r) => path.join(imageDir, table.files[r]!));
      return [split, describeSplit({ labels, sources, origin: `${partFile}, partition ${s}` })];
    }),
  ) as Record<SplitName, SplitDescription>;
  return { name: NAME, tasks, splits };
}

export async function createCelebaDataset(
  options: CelebaOptions,
  context: FileDatasetContext & { described?: DatasetDescription },
): Promise<Dataset> {
  return openFileDataset(context.described ?? (await describeCeleba(options)), options, context);
}
