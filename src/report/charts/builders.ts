/**
 * Chart shapes the report's charts (and new ones) are made of, each a function from per-method data to a
 * Vega-Lite spec: a labelled scatter plot, grouped bars, lines. All share one colour per method, a legend
 * that picks methods, tooltips, and an interval wherever a datum has `lo` and `hi`.
 */
import type { ReportData } from '../data.js';
import { placeLabels, type Box } from './labels.js';
import {
  FONT_SIZE,
  ONE_LEGEND,
  chart,
  exact,
  hasInterval,
  intervalTooltip,
  methodColour,
  pickMethod,
  pickedOpacity,
  withoutLegend,
  type ChartSpec,
  type Interval,
  type Row,
} from './spec.js';

/** A datum of a per-method chart: its method (colour, legend), an optional interval, its tooltip lines. */
export interface MethodDatum extends Interval {
  readonly method: string;
  /** Tooltip lines after the method's name, title → value (format numbers in Node, e.g. with exact()). */
  readonly tooltip?: Readonly<Record<string, string | number | null>>;
}

export interface Axis {
  readonly title: string;
  /** A log scale (e.g. parameter counts); values must be positive. */
  readonly log?: boolean;
  /** Whole-number ticks (e.g. training steps). */
  readonly integer?: boolean;
  /** A d3 format for tick labels. */
  readonly format?: string;
}

/** The data of a chart that shows `which` methods: its colour legend lists only those. */
type Methods = Pick<ReportData, 'methods'>;

/** Row fields of the tooltip lines (`tip0`, `tip1`…, in the order titles first appear) and their encoding. */
function withTooltips<D extends MethodDatum>(data: readonly D[]) {
  const titles = [...new Set(data.flatMap((d) => Object.keys(d.tooltip ?? {})))];
  const fields = (d: D): Row => Object.fromEntries(titles.map((t, i) => [`tip${i}`, d.tooltip?.[t] ?? null]));
  const base = (d: D): Row => ({
    method: d.method,
    ...(d.lo !== undefined && d.hi !== undefined && d.hi - d.lo > 1e-12
      ? { lo: exact(d.lo, 6), hi: exact(d.hi, 6) }
      : {}),
    ...fields(d),
  });
  return {
    row: base,
    tooltip: (rows: readonly Row[]) => [
      { field: 'method' },
      ...intervalTooltip(rows),
      ...titles.map((title, i) => ({ field: `tip${i}`, title })),
    ],
  };
}

function shownMethods(data: Methods, rows: readonly Row[]): string[] {
  const present = new Set(rows.map((r) => r.method));
  return data.methods.map((m) => m.label).filter((label) => present.has(label));
}

/**
 * The error bars of a per-method chart: a rule from `lo` (the `low` encoding) to `hi` for each row that has
 * an interval, in its method's colour; no layer when no row has one.
 */
function errorBars(rows: readonly Row[], x: object, low: object, colour: ReturnType<typeof methodColour>) {
  if (!hasInterval(rows)) return [];
  return [
    {
      name: 'intervals',
      data: { values: rows },
      mark: { type: 'rule', strokeWidth: 1.4 },
      encoding: {
        x,
        y: low,
        y2: { field: 'hi' },
        color: withoutLegend(colour),
        opacity: pickedOpacity(0.8, 0.06),
      },
    },
  ];
}

export interface ScatterPoint extends MethodDatum {
  readonly x: number;
  readonly y: number;
  /** Text beside the point (default: the method). */
  readonly label?: string;
}

export interface ScatterChart {
  readonly description: string;
  readonly x: Axis;
  readonly y: Axis;
  /** One labelled point per method (e.g. the mean over seeds), with its interval on y. */
  readonly points: readonly ScatterPoint[];
  /** Smaller hollow points without labels (e.g. each seed). */
  readonly singles?: readonly (MethodDatum & { readonly x: number; readonly y: number })[];
  readonly width?: number;
  readonly height?: number;
}

/** Radius of a labelled point (Vega draws a circle of size s with radius √s / 2). */
const POINT_RADIUS = 5.5;

function paddedRange(values: readonly number[], fraction: number): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi > lo ? (hi - lo) * fraction : Math.max(Math.abs(lo) * 0.05, 0.01);
  return [lo - pad, hi + pad];
}

/** Maps an axis' explicit domain onto [0, size] pixels and back (log or linear). */
function pixelScale(values: readonly number[], axis: Axis, size: number) {
  const t = axis.log ? Math.log : (v: number) => v;
  const inverse = axis.log ? Math.exp : (v: number) => v;
  const [lo, hi] = axis.log
    ? [t(Math.min(...values) / 1.3), t(Math.max(...values) * 1.3)]
    : paddedRange(values, 0.12);
  return {
    domain: [inverse(lo), inverse(hi)],
    toPixel: (v: number) => (size * (t(v) - lo)) / (hi - lo),
    fromPixel: (p: number) => inverse(lo + (p / size) * (hi - lo)),
  };
}

/**
 * One labelled point per method, with error bars, optional hollow points per seed, legend filtering and
 * zoom (scroll, drag; double-click resets). Labels are placed clear of each other and of the points
 * (labels.ts), from explicit scale domains, and stored in the data.
 */
export function scatterChart(data: Methods, spec: ScatterChart): ChartSpec | undefined {
  const points = spec.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (points.length === 0) return undefined;
  const singles = (spec.singles ?? []).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const width = spec.width ?? 440;
  const height = spec.height ?? 300;
  const xs = [...points, ...singles].map((p) => p.x);
  const ys = [...points, ...singles].flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]);
  const x = pixelScale(xs, spec.x, width);
  // Pixels grow downwards.
  const yUp = pixelScale(ys, spec.y, height);
  const py = (v: number) => height - yUp.toPixel(v);
  const obstacles: Box[] = [
    ...points.flatMap((p) => {
      if (p.lo === undefined || p.hi === undefined) return [];
      const px = x.toPixel(p.x);
      return [{ x0: px - 2, x1: px + 2, y0: py(p.hi), y1: py(p.lo) }];
    }),
    ...singles.map((s) => {
      const px = x.toPixel(s.x);
      return { x0: px - 3, x1: px + 3, y0: py(s.y) - 3, y1: py(s.y) + 3 };
    }),
  ];
  const labels = placeLabels(
    points.map((p) => ({
      x: x.toPixel(p.x),
      y: py(p.y),
      text: p.label ?? p.method,
      // The symbol's white outline, and a pixel of air.
      radius: POINT_RADIUS + 2,
    })),
    { width, height, fontSize: FONT_SIZE, obstacles },
  );
  const main = withTooltips(points);
  const rows: Row[] = points.map((p, i) => ({
    ...main.row(p),
    x: p.x,
    y: p.y,
    label: p.label ?? p.method,
    labelX: x.fromPixel(labels[i]!.x),
    labelY: yUp.fromPixel(height - labels[i]!.y),
    labelAlign: labels[i]!.align,
    labelBaseline: labels[i]!.baseline,
  }));
  const minor = withTooltips(singles);
  const singleRows: Row[] = singles.map((s) => ({ ...minor.row(s), x: s.x, y: s.y }));
  const encode = (axis: Axis, domain: readonly number[]) => (field: string) => ({
    field,
    type: 'quantitative',
    title: axis.title,
    scale: { ...(axis.log ? { type: 'log' } : { zero: false }), domain: [...domain], nice: false },
    axis: {
      ...(axis.format ? { format: axis.format } : {}),
      ...(axis.integer ? { tickMinStep: 1 } : {}),
      labelOverlap: 'greedy',
      labelSeparation: 6,
    },
  });
  const ex = encode(spec.x, x.domain);
  const ey = encode(spec.y, yUp.domain);
  const colour = methodColour(data, shownMethods(data, rows));
  return chart(spec.description, {
    width,
    height,
    resolve: ONE_LEGEND,
    layer: [
      ...errorBars(rows, ex('x'), ey('lo'), colour),
      ...(singleRows.length > 0
        ? [
            {
              name: 'singles',
              data: { values: singleRows },
              mark: { type: 'point', size: 28, filled: false, strokeWidth: 1 },
              encoding: {
                x: ex('x'),
                y: ey('y'),
                color: withoutLegend(colour),
                opacity: pickedOpacity(0.8, 0.08),
                tooltip: minor.tooltip(singleRows),
              },
            },
          ]
        : []),
      {
        name: 'points',
        data: { values: rows },
        params: [pickMethod, { name: 'zoom', select: 'interval', bind: 'scales' }],
        mark: {
          type: 'point',
          filled: true,
          size: Math.round((2 * POINT_RADIUS) ** 2),
          stroke: '#fff',
          strokeWidth: 1,
        },
        encoding: {
          x: ex('x'),
          y: ey('y'),
          color: colour,
          opacity: pickedOpacity(1, 0.15),
          tooltip: main.tooltip(rows),
        },
      },
      {
        name: 'labels',
        data: { values: rows },
        mark: {
          type: 'text',
          fontSize: FONT_SIZE,
          align: { expr: 'datum.labelAlign' },
          baseline: { expr: 'datum.labelBaseline' },
          color: '#333',
        },
        encoding: {
          x: ex('labelX'),
          y: ey('labelY'),
          text: { field: 'label' },
          opacity: pickedOpacity(1, 0.15),
        },
      },
    ],
  });
}

export interface BarDatum extends MethodDatum {
  /** The category the bar stands in (e.g. a task). */
  readonly group: string;
  readonly value: number;
}

export interface BarChart {
  readonly description: string;
  /** Categories in order. */
  readonly groups: readonly string[];
  readonly y: Axis;
  readonly bars: readonly BarDatum[];
  readonly height?: number;
}

/** Bars grouped by category, one per method, from zero, with error bars where a bar has an interval. */
export function groupedBarChart(data: Methods, spec: BarChart): ChartSpec | undefined {
  const bars = spec.bars.filter((b) => Number.isFinite(b.value));
  if (bars.length === 0) return undefined;
  const t = withTooltips(bars);
  const rows: Row[] = bars.map((b) => ({ ...t.row(b), group: b.group, value: b.value }));
  const methods = shownMethods(data, rows);
  const x = { field: 'group', type: 'nominal', sort: [...spec.groups], title: null, axis: { labelAngle: 0 } };
  const xOffset = { field: 'method', type: 'nominal', sort: methods };
  const y = {
    field: 'value',
    type: 'quantitative',
    title: spec.y.title,
    ...(spec.y.format ? { axis: { format: spec.y.format } } : {}),
  };
  return chart(spec.description, {
    width: Math.max(360, spec.groups.length * (methods.length * 12 + 24)),
    height: spec.height ?? 300,
    data: { values: rows },
    layer: [
      {
        name: 'bars',
        params: [pickMethod],
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset,
          y,
          color: methodColour(data, methods),
          opacity: pickedOpacity(1, 0.15),
          tooltip: t.tooltip(rows),
        },
      },
      ...(hasInterval(rows)
        ? [
            {
              name: 'intervals',
              mark: { type: 'rule', color: '#222', strokeWidth: 1.2 },
              encoding: {
                x,
                xOffset,
                y: { ...y, field: 'lo' },
                y2: { field: 'hi' },
                opacity: pickedOpacity(1, 0.15),
              },
            },
          ]
        : []),
    ],
  });
}

export interface LinePoint extends MethodDatum {
  readonly x: number;
  readonly y: number;
}

export interface LineChart {
  readonly description: string;
  readonly x: Axis;
  readonly y: Axis;
  readonly points: readonly LinePoint[];
  /** A dashed horizontal line with a label (e.g. 90°: orthogonal). */
  readonly reference?: { readonly y: number; readonly label: string };
  readonly width?: number;
  readonly height?: number;
}

/**
 * One line per method with a point at every datum, an error bar (whisker) where a point has an interval, a
 * reference line.
 */
export function lineChart(data: Methods, spec: LineChart): ChartSpec | undefined {
  const points = spec.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (points.length === 0) return undefined;
  const width = spec.width ?? 460;
  const t = withTooltips(points);
  const rows: Row[] = points.map((p) => ({ ...t.row(p), x: p.x, y: p.y }));
  const axis = (a: Axis) => ({
    ...(a.format ? { format: a.format } : a.integer ? { format: 'd' } : {}),
    ...(a.integer ? { tickMinStep: 1 } : {}),
  });
  const x = { field: 'x', type: 'quantitative', title: spec.x.title, axis: axis(spec.x) };
  const y = {
    field: 'y',
    type: 'quantitative',
    title: spec.y.title,
    scale: { zero: false, ...(spec.y.log ? { type: 'log' } : {}) },
    axis: axis(spec.y),
  };
  const colour = methodColour(data, shownMethods(data, rows));
  const reference = spec.reference;
  return chart(spec.description, {
    width,
    height: spec.height ?? 300,
    resolve: ONE_LEGEND,
    layer: [
      ...errorBars(rows, x, { ...y, field: 'lo' }, colour),
      {
        name: 'lines',
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y, color: withoutLegend(colour), opacity: pickedOpacity(1, 0.12) },
      },
      {
        name: 'points',
        data: { values: rows },
        params: [pickMethod],
        mark: { type: 'point', filled: true, size: 36 },
        encoding: { x, y, color: colour, opacity: pickedOpacity(1, 0.12), tooltip: t.tooltip(rows) },
      },
      // A layer without data of its own draws nothing when every other layer brings its own: one datum.
      ...(reference
        ? [
            {
              name: 'reference',
              data: { values: [{}] },
              mark: { type: 'rule', strokeDash: [5, 4], color: '#999' },
              encoding: { y: { datum: reference.y } },
            },
            {
              name: 'reference_label',
              data: { values: [{}] },
              mark: { type: 'text', align: 'right', dy: -7, color: '#777', fontSize: FONT_SIZE },
              encoding: {
                y: { datum: reference.y },
                x: { value: width - 4 },
                text: { value: reference.label },
              },
            },
          ]
        : []),
    ],
  });
}
