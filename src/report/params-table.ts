/**
 * The rows of `mtlzoo params`: for one backbone and task count, what each method variant costs in
 * parameters, bytes and gallery passes. Each variant is built for real, reported and disposed, so the
 * numbers are exactly what training would allocate; the price is allocating every variant's weights once
 * (separate and cross-stitch hold T backbones).
 */
import type { BackboneFactory } from '../kinds/backbone.js';
import type { MtlModel, ParameterReport } from '../kinds/method.js';
import { isMtlzooError } from '../errors.js';
import type { PluginRegistries } from '../plugin/registry.js';
import { formatTable } from '../util/table.js';

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

/** A variant that was built: what it costs. */
export interface ParamsCostRow extends ParameterReport {
  readonly label: string;
  readonly method: string;
  /** The variant's options after the plugin's defaults. */
  readonly options: unknown;
  /** `bytes` in megabytes (10^6). */
  readonly megabytes: number;
}

/** A variant whose plugin refused its options or failed to create: the table marks it and goes on. */
export interface ParamsFailedRow {
  readonly label: string;
  readonly method: string;
  /** The variant's options as given. */
  readonly options: unknown;
  /** One line naming the plugin and what failed. */
  readonly error: string;
}

export type ParamsRow = ParamsCostRow | ParamsFailedRow;

export function isFailedRow(row: ParamsRow): row is ParamsFailedRow {
  return 'error' in row;
}

/** The paper's variants, then every other registered method (third-party ones) with its default options. */
export function paramsVariants(methods: readonly string[]): ParamsVariant[] {
  const covered = new Set(PARAMS_VARIANTS.map((v) => v.method));
  return [
    ...PARAMS_VARIANTS,
    ...methods.filter((m) => !covered.has(m)).map((m) => ({ label: m, method: m, options: {} })),
  ];
}

export interface ParamsTableInput {
  readonly backbone: BackboneFactory;
  readonly taskCount: number;
  /** Where the methods are built from (their options checked against the backbone first). */
  readonly registries: PluginRegistries;
  readonly variants?: readonly ParamsVariant[];
  readonly seed?: number;
}

export async function buildParamsTable(input: ParamsTableInput): Promise<ParamsRow[]> {
  const { backbone, taskCount, registries } = input;
  const rows: ParamsRow[] = [];
  for (const variant of input.variants ?? paramsVariants(registries.of('method').names())) {
    const { label, method } = variant;
    let options: unknown;
    let model: MtlModel;
    try {
      options = registries.parseOptions('method', { name: method, options: variant.options });
      model = await registries.build(
        'method',
        { name: method, options },
        { backbone, taskCount, seed: input.seed ?? 0 },
        { backbone: backbone.description },
      );
    } catch (error) {
      // An unknown name is the caller's mistake; anything a plugin refuses or throws marks its row.
      if (!isMtlzooError(error) || error.code === 'PLUGIN_UNKNOWN') throw error;
      rows.push({ label, method, options: variant.options, error: error.message });
      continue;
    }
    try {
      const report = model.report();
      rows.push({ label, method, options, ...report, megabytes: report.bytes / 1e6 });
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

const COLUMNS: readonly { header: string; cell: (row: ParamsCostRow) => string; numeric: boolean }[] = [
  { header: 'method', cell: (r) => r.label, numeric: false },
  { header: 'shared params', cell: (r) => formatCount(r.sharedParams), numeric: true },
  { header: 'params / task', cell: (r) => formatCount(r.paramsPerTask), numeric: true },
  { header: 'total params', cell: (r) => formatCount(r.totalParams), numeric: true },
  { header: 'MB', cell: (r) => r.megabytes.toFixed(2), numeric: true },
  { header: 'gallery passes', cell: (r) => String(r.galleryPasses), numeric: true },
];

/**
 * A GitHub-flavoured markdown table, or plain columns aligned with spaces (numbers right-aligned). A failed
 * row shows `failed` and its error follows the table.
 */
export function formatParamsTable(
  rows: readonly ParamsRow[],
  format: 'markdown' | 'plain' = 'plain',
): string {
  const cells = rows.map((row) =>
    isFailedRow(row)
      ? [`${row.label} (failed)`, ...COLUMNS.slice(1).map(() => '-')]
      : COLUMNS.map((c) => c.cell(row)),
  );
  const table = formatTable(
    COLUMNS.map((c) => c.header),
    cells,
    { markdown: format === 'markdown', numeric: COLUMNS.map((c) => c.numeric), rule: false },
  );
  const failures = rows
    .filter(isFailedRow)
    .map((r) => `${format === 'markdown' ? '- ' : ''}${r.label}: ${r.error}\n`);
  // Why each failed row failed, after a blank line.
  return failures.length > 0 ? `${table}\n${failures.join('')}` : table;
}
