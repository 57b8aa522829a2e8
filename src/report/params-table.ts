/**
 * The rows of `mtlzoo params`: for one backbone and task count, what each method variant costs in
 * parameters, bytes and gallery passes. Each variant is built for real, reported and disposed, so the
 * numbers are exactly what training would allocate; the price is allocating every variant's weights once
 * (separate and cross-stitch hold T backbones).
 */
import type { BackboneFactory } from '../kinds/backbone.js';
import type { AnyPluginOf } from '../kinds/index.js';
import type { ParameterReport } from '../kinds/method.js';
import { MtlzooError, errors } from '../errors.js';

export interface ParamsVariant {
  readonly label: string;
  readonly method: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * One row per method variant the paper compares, and ASEN's two versions; options not given take each
 * plugin's defaults.
 */
export const PARAMS_VARIANTS: readonly ParamsVariant[] = [
  { label: 'modulation (vector)', method: 'modulation', options: { form: 'vector' } },
  { label: 'modulation (matrix)', method: 'modulation', options: { form: 'matrix' } },
  { label: 'shared', method: 'shared', options: {} },
  { label: 'separate', method: 'separate', options: {} },
  { label: 'cross-stitch', method: 'cross-stitch', options: {} },
  { label: 'csn', method: 'csn', options: {} },
  { label: 'asen (v1)', method: 'asen', options: { version: 1 } },
  { label: 'asen (v2)', method: 'asen', options: { version: 2 } },
];

export interface ParamsRow extends ParameterReport {
  readonly label: string;
  readonly method: string;
  /** The variant's options after the plugin's defaults. */
  readonly options: unknown;
  /** `bytes` in megabytes (10^6). */
  readonly megabytes: number;
}

/** The paper's variants, then every other registered method (third-party ones) with its default options. */
export function paramsVariants(methods: readonly AnyPluginOf<'method'>[]): ParamsVariant[] {
  const covered = new Set(PARAMS_VARIANTS.map((v) => v.method));
  return [
    ...PARAMS_VARIANTS,
    ...methods
      .filter((m) => !covered.has(m.name))
      .map((m) => ({ label: m.name, method: m.name, options: {} })),
  ];
}

export interface ParamsTableInput {
  readonly backbone: BackboneFactory;
  readonly taskCount: number;
  readonly methods: readonly AnyPluginOf<'method'>[];
  readonly variants?: readonly ParamsVariant[];
  readonly seed?: number;
}

export async function buildParamsTable(input: ParamsTableInput): Promise<ParamsRow[]> {
  const rows: ParamsRow[] = [];
  for (const variant of input.variants ?? paramsVariants(input.methods)) {
    const plugin = input.methods.find((m) => m.name === variant.method);
    if (!plugin) {
      const known = input.methods.map((m) => m.name);
      throw new MtlzooError('PLUGIN_UNKNOWN', errors.unknownPlugin('method', variant.method, known));
    }
    const options: unknown = plugin.options.parse(variant.options);
    const issues = plugin.check?.(options, { backbone: input.backbone.description }) ?? [];
    if (issues.length > 0) {
      const detail = issues.map((i) => i.message).join('; ');
      throw new MtlzooError('PLUGIN_INVALID', `${variant.label}: ${detail}`);
    }
    const model = await plugin.create(options, {
      backbone: input.backbone,
      taskCount: input.taskCount,
      seed: input.seed ?? 0,
    });
    try {
      const report = model.report();
      rows.push({
        label: variant.label,
        method: variant.method,
        options,
        ...report,
        megabytes: report.bytes / 1e6,
      });
    } finally {
      model.dispose();
    }
  }
  return rows;
}

/** `1234567` → `1,234,567`; a non-integer mean keeps one decimal. Independent of the locale. */
function formatCount(value: number): string {
  const [whole, fraction] = (Number.isInteger(value) ? String(value) : value.toFixed(1)).split('.');
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

const COLUMNS: readonly { header: string; cell: (row: ParamsRow) => string; numeric: boolean }[] = [
  { header: 'method', cell: (r) => r.label, numeric: false },
  { header: 'shared params', cell: (r) => formatCount(r.sharedParams), numeric: true },
  { header: 'params / task', cell: (r) => formatCount(r.paramsPerTask), numeric: true },
  { header: 'total params', cell: (r) => formatCount(r.totalParams), numeric: true },
  { header: 'MB', cell: (r) => r.megabytes.toFixed(2), numeric: true },
  { header: 'gallery passes', cell: (r) => String(r.galleryPasses), numeric: true },
];

/** A GitHub-flavoured markdown table, or plain columns aligned with spaces (numbers right-aligned). */
export function formatParamsTable(
  rows: readonly ParamsRow[],
  format: 'markdown' | 'plain' = 'plain',
): string {
  const cells = rows.map((row) => COLUMNS.map((c) => c.cell(row)));
  const widths = COLUMNS.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const pad = (text: string, i: number) =>
    COLUMNS[i]!.numeric ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (texts: readonly string[]) =>
    format === 'markdown' ? `| ${texts.map(pad).join(' | ')} |` : texts.map(pad).join('  ').trimEnd();
  const header = line(COLUMNS.map((c) => c.header));
  const body = cells.map(line);
  if (format === 'plain') return [header, ...body].join('\n');
  const rule = `|${widths.map((w, i) => (COLUMNS[i]!.numeric ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [header, rule, ...body].join('\n');
}
