/**
 * Pieces every report chart is built from: one colour per method across all charts, legend filtering,
 * intervals drawn wherever a datum has `lo` and `hi`, tooltips, heat-map cells. A chart is a Vega-Lite spec
 * with its data inlined, so the same object renders in Node, in the page and in the Vega editor.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { CellStats } from '../../bench/statistics.js';
import type { ReportData } from '../data.js';

export type ChartSpec = TopLevelSpec;

/** Data rows of a chart: plain JSON values. */
export type Row = Record<string, string | number | boolean | null>;

/** An optional interval of a datum; a chart draws error bars or bands when any of its rows has one. */
export interface Interval {
  readonly lo?: number;
  readonly hi?: number;
}

export const FONT_SIZE = 11;

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#f0e442',
  '#000000',
] as const;

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** The look every chart shares; fonts the page and Node agree on. */
export const CONFIG = {
  font: 'sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: FONT_SIZE, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e8e8e8' },
  legend: { labelFontSize: FONT_SIZE, titleFontSize: 12, titleFontWeight: 'normal' },
  header: { labelFontSize: 12, titleFontSize: 12 },
} as const;

/** Name of the legend selection every per-method chart binds: a click on a legend entry isolates a method. */
export const PICK = 'pick';

/**
 * One colour per method, in bench order, the same in every chart; the legend lists `shown` (default: all
 * methods), at full opacity whatever the marks' own.
 */
export function methodColour(data: Pick<ReportData, 'methods'>, shown?: readonly string[]) {
  const labels = data.methods.map((m) => m.label);
  return {
    field: 'method',
    type: 'nominal',
    title: 'method',
    sort: labels,
    scale: { domain: labels, range: [...PALETTE] },
    legend: { values: [...(shown ?? labels)], symbolOpacity: 1, symbolType: 'circle' },
  } as const;
}

/**
 * The same colours without a legend, for every layer but the one holding `pickMethod`, in a chart with
 * `resolve: ONE_LEGEND`. Vega-Lite otherwise merges the layers' legends into one that has lost its
 * binding to the selection (or, with `legend: null` in some layers, into no legend at all).
 */
export function withoutLegend<T extends object>(colour: T): Omit<T, 'legend'> & { legend: null } {
  return { ...colour, legend: null };
}

/** Each layer keeps its own colour legend (all but one have none), over the one shared colour scale. */
export const ONE_LEGEND = { legend: { color: 'independent' } } as const;

/** A legend-bound point selection on `method`; put it on exactly one layer of a chart. */
export const pickMethod = {
  name: PICK,
  select: { type: 'point', fields: ['method'] },
  bind: 'legend',
} as const;

/** Full opacity for the picked method(s) (all when nothing is picked), faint for the others. */
export function pickedOpacity(on = 1, off = 0.12) {
  return { condition: { param: PICK, value: on }, value: off } as const;
}

const hasCi = (cell: CellStats): cell is CellStats & Required<Pick<CellStats, 'ci'>> =>
  cell.ci !== undefined && Number.isFinite(cell.ci.low) && Number.isFinite(cell.ci.high);

/**
 * `lo`/`hi` of a cell: the bench's 95 % interval when it has one, else mean ± 1 std when there are several
 * seeds (results recorded before intervals).
 */
export function intervalOf(cell: CellStats | undefined): Interval {
  if (!cell || !Number.isFinite(cell.mean)) return {};
  if (hasCi(cell)) return { lo: cell.ci.low, hi: cell.ci.high };
  return cell.n > 1 && Number.isFinite(cell.std)
    ? { lo: cell.mean - cell.std, hi: cell.mean + cell.std }
    : {};
}

/** The bench's intervals, for captions. */
export const CI_MEANING = '95 % interval, bootstrap over seeds and test queries';

/** What the error bars of these cells mean, for captions. */
export function intervalMeaning(cells: readonly (CellStats | undefined)[]): string | undefined {
  const drawn = cells.filter((c): c is CellStats => c !== undefined && Object.keys(intervalOf(c)).length > 0);
  if (drawn.length === 0) return undefined;
  return drawn.some(hasCi) ? CI_MEANING : '± 1 std over seeds';
}

export const hasInterval = (rows: readonly Row[]) =>
  rows.some((r) => typeof r.lo === 'number' && typeof r.hi === 'number');

/** Tooltip lines for the interval of a row, when the chart's rows have intervals. */
export function intervalTooltip(rows: readonly Row[], format = '.4f') {
  return hasInterval(rows)
    ? [
        { field: 'lo', title: 'interval from', format },
        { field: 'hi', title: 'interval to', format },
      ]
    : [];
}

/** `0.9549` style numbers for tooltips; null (not measured) stays null. */
export function exact(value: number | undefined, digits = 4): number | null {
  return value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits));
}

/** "seed 0: 0.9443, seed 1: 0.9655" for tooltips. */
export function perSeedText(values: readonly { seed: number; value: number }[], digits = 4): string {
  return values
    .map(({ seed, value }) => `seed ${seed}: ${Number.isFinite(value) ? value.toFixed(digits) : 'n/a'}`)
    .join(', ');
}

/**
 * A square task × task heat map of matrixRows: `row`, `col`, `value` (null where undefined, drawn grey
 * and printed n/a), `shade` (the colour's value), `exact` (the tooltip's) and `text` (the printed value).
 * Colours run blue (domain low) – white – red (domain high).
 */
export function heatmapLayers(
  tasks: readonly string[],
  domain: readonly [number, number],
  valueTitle: string,
  extraTooltip: readonly { field: string; title: string }[] = [],
  /** Prefix of the layers' mark names: unique per map in one chart (Vega-Lite finds a mark's data by name). */
  name = 'map',
) {
  const axis = { field: '', type: 'nominal', sort: [...tasks], title: null } as const;
  const [lo, hi] = domain;
  const contrast = lo + (hi - lo) * 0.18;
  const contrastHigh = hi - (hi - lo) * 0.18;
  return [
    {
      name: `${name}_cells`,
      mark: { type: 'rect', stroke: '#fff', strokeWidth: 1 },
      encoding: {
        x: { ...axis, field: 'col', axis: { labelAngle: -35 } },
        y: { ...axis, field: 'row' },
        // Colour by `shade`, never null: Vega-Lite drops a cell whose colour field is null.
        color: {
          condition: { test: 'datum.value === null', value: '#bbbbbb' },
          field: 'shade',
          type: 'quantitative',
          title: valueTitle,
          scale: { scheme: 'redblue', reverse: true, domain: [lo, hi], clamp: true },
        },
        tooltip: [
          { field: 'row', title: 'task' },
          { field: 'col', title: 'with' },
          { field: 'exact', title: valueTitle },
          ...extraTooltip,
        ],
      },
    },
    {
      name: `${name}_values`,
      mark: { type: 'text', fontSize: 10 },
      encoding: {
        x: { ...axis, field: 'col' },
        y: { ...axis, field: 'row' },
        text: { field: 'text' },
        color: {
          condition: {
            test: `datum.value !== null && (datum.value < ${contrast} || datum.value > ${contrastHigh})`,
            value: '#ffffff',
          },
          value: '#222222',
        },
      },
    },
  ];
}

/** Cells of a task × task matrix for heatmapLayers. */
export function matrixRows(
  tasks: readonly string[],
  matrix: readonly (readonly number[])[],
  digits: number,
  extra: Row = {},
): Row[] {
  return matrix.flatMap((row, i) =>
    row.map((value, j) => ({
      ...extra,
      row: tasks[i]!,
      col: tasks[j]!,
      value: exact(value, 6),
      shade: Number.isFinite(value) ? exact(value, 6) : 0,
      exact: Number.isFinite(value) ? String(exact(value, 6)) : 'n/a',
      text: Number.isFinite(value) ? value.toFixed(digits) : 'n/a',
    })),
  );
}

/** A top-level chart with the shared look; the chart's parts come from its builder. */
export function chart(description: string, body: Record<string, unknown>): ChartSpec {
  return { $schema: SCHEMA, description, config: CONFIG, ...body } as ChartSpec;
}
