/**
 * The report's charts as inline SVG strings. Every data mark carries class `mark` and a tooltip, and each
 * chart states how many marks it drew in `data-marks`, which the page's self-check (and the browser test)
 * compares with what the browser actually laid out.
 */
import type { Matrix } from '../../metrics/gradients.js';
import { divergingColour, formatTick, linearScale, tag, text, title, type LinearScale } from './svg.js';

export interface Series {
  readonly label: string;
  readonly colour: string;
}

const FONT = 12;
/** Rough width of a character at the chart font, for laying out labels without measuring. */
const CHAR = 7;

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

function frameFor(legend: readonly Series[], bottom = 48): Frame {
  const legendWidth = legend.length > 0 ? 28 + CHAR * Math.max(...legend.map((s) => s.label.length)) : 0;
  const plotRight = 470;
  return { width: plotRight + 16 + legendWidth, height: 330, left: 64, right: plotRight, top: 16, bottom };
}

function svg(chart: string, frame: Frame, marks: number, label: string, ...content: string[]): string {
  return tag(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      'data-chart': chart,
      'data-marks': marks,
      viewBox: `0 0 ${frame.width} ${frame.height}`,
      width: frame.width,
      height: frame.height,
      role: 'img',
      'aria-label': label,
      'font-family': 'system-ui, sans-serif',
      'font-size': FONT,
    },
    ...content,
  );
}

function legend(series: readonly Series[], frame: Frame): string {
  return series
    .map((s, i) => {
      const y = frame.top + 8 + i * 20;
      return (
        tag('rect', { x: frame.right + 16, y: y - 9, width: 12, height: 12, fill: s.colour, rx: 2 }) +
        text(frame.right + 34, y + 1, s.label)
      );
    })
    .join('');
}

/** Grid lines, tick labels and axis titles; `x` may be a category axis (ticks drawn by the caller). */
function axes(
  frame: Frame,
  y: LinearScale,
  yTitle: string,
  x?: { scale: LinearScale; title: string },
): string {
  const plotBottom = frame.height - frame.bottom;
  const parts: string[] = [];
  for (const tick of y.ticks) {
    parts.push(
      tag('line', { x1: frame.left, x2: frame.right, y1: y(tick), y2: y(tick), stroke: '#e3e3e3' }),
      text(frame.left - 6, y(tick) + 4, formatTick(tick), { 'text-anchor': 'end', fill: '#555' }),
    );
  }
  if (x) {
    for (const tick of x.scale.ticks) {
      parts.push(
        tag('line', {
          x1: x.scale(tick),
          x2: x.scale(tick),
          y1: frame.top,
          y2: plotBottom,
          stroke: '#efefef',
        }),
        text(x.scale(tick), plotBottom + 16, formatTick(tick), { 'text-anchor': 'middle', fill: '#555' }),
      );
    }
    parts.push(text((frame.left + frame.right) / 2, frame.height - 8, x.title, { 'text-anchor': 'middle' }));
  }
  parts.push(
    tag('line', { x1: frame.left, x2: frame.right, y1: plotBottom, y2: plotBottom, stroke: '#888' }),
    tag('line', { x1: frame.left, x2: frame.left, y1: frame.top, y2: plotBottom, stroke: '#888' }),
    text(14, (frame.top + plotBottom) / 2, yTitle, {
      'text-anchor': 'middle',
      transform: `rotate(-90 14 ${(frame.top + plotBottom) / 2})`,
    }),
  );
  return parts.join('');
}

function fmt(value: number, digits = 3): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** A vertical 95 % interval drawn through a point (absent or non-finite: none). */
export interface YInterval {
  readonly low?: number;
  readonly high?: number;
}

function hasInterval(p: YInterval): p is { low: number; high: number } {
  return Number.isFinite(p.low) && Number.isFinite(p.high);
}

/** The whisker of a point's interval: a vertical line with short caps. */
function whisker(cx: number, low: number, high: number, colour: string): string {
  const cap = (cy: number) => tag('line', { x1: cx - 3, x2: cx + 3, y1: cy, y2: cy, stroke: colour });
  return tag('line', { x1: cx, x2: cx, y1: low, y2: high, stroke: colour }) + cap(low) + cap(high);
}

export interface ScatterPoint extends Series, YInterval {
  readonly x: number;
  readonly y: number;
  /** Extra tooltip text. */
  readonly note?: string;
}

/** One labelled point per item (e.g. accuracy against parameters, one per method). */
export function scatterChart(points: readonly ScatterPoint[], xTitle: string, yTitle: string): string {
  const shown = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const frame = frameFor(points);
  const x = linearScale(
    shown.map((p) => p.x),
    frame.left + 12,
    frame.right - 12,
  );
  const y = linearScale(
    shown.flatMap((p) => (hasInterval(p) ? [p.y, p.low, p.high] : [p.y])),
    frame.height - frame.bottom - 10,
    frame.top + 10,
  );
  const marks = shown.map(
    (p) =>
      (hasInterval(p) ? whisker(x(p.x), y(p.low), y(p.high), p.colour) : '') +
      tag(
        'circle',
        { class: 'mark', cx: x(p.x), cy: y(p.y), r: 6, fill: p.colour, stroke: '#fff', 'stroke-width': 1.5 },
        title(
          `${p.label}: ${yTitle} ${fmt(p.y)}${hasInterval(p) ? ` [${fmt(p.low)}, ${fmt(p.high)}]` : ''}, ${xTitle} ${p.x.toLocaleString('en-US')}${p.note ? `, ${p.note}` : ''}`,
        ),
      ),
  );
  const labels = shown.map((p) => text(x(p.x) + 9, y(p.y) - 8, p.label, { fill: '#333' }));
  return svg(
    'scatter',
    frame,
    marks.length,
    `${yTitle} against ${xTitle}`,
    axes(frame, y, yTitle, { scale: x, title: xTitle }),
    ...marks,
    ...labels,
    legend(points, frame),
  );
}

export interface BarSeries extends Series {
  /** One value per category; NaN leaves a gap. */
  readonly values: readonly number[];
}

/** Bars grouped by category (e.g. tasks), one bar per series (e.g. method) in each group. */
export function groupedBarChart(
  categories: readonly string[],
  series: readonly BarSeries[],
  yTitle: string,
): string {
  const frame = frameFor(series, 64);
  const values = series.flatMap((s) => s.values);
  const y = linearScale([0, ...values], frame.height - frame.bottom, frame.top);
  const groupWidth = (frame.right - frame.left) / Math.max(1, categories.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, series.length);
  const marks: string[] = [];
  categories.forEach((category, c) => {
    series.forEach((s, i) => {
      const value = s.values[c]!;
      if (!Number.isFinite(value)) return;
      const top = y(Math.max(0, value));
      marks.push(
        tag(
          'rect',
          {
            class: 'mark',
            x: frame.left + c * groupWidth + groupWidth * 0.1 + i * barWidth,
            y: top,
            width: Math.max(1, barWidth - 2),
            height: Math.max(1, Math.abs(y(0) - y(value))),
            fill: s.colour,
          },
          title(`${s.label}, ${category}: ${fmt(value)}`),
        ),
      );
    });
  });
  const labels = categories.map((category, c) =>
    text(frame.left + (c + 0.5) * groupWidth, frame.height - frame.bottom + 18, category, {
      'text-anchor': 'middle',
    }),
  );
  return svg(
    'bars',
    frame,
    marks.length,
    `${yTitle} per category`,
    axes(frame, y, yTitle),
    ...marks,
    ...labels,
    legend(series, frame),
  );
}

export interface LineSeries extends Series {
  readonly points: readonly ({ readonly x: number; readonly y: number } & YInterval)[];
}

/** Lines with a dot at every point; an optional dashed horizontal reference line. */
export function lineChart(
  series: readonly LineSeries[],
  xTitle: string,
  yTitle: string,
  reference?: { readonly y: number; readonly label: string },
): string {
  const frame = frameFor(series);
  const points = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)));
  const x = linearScale(
    points.map((p) => p.x),
    frame.left + 8,
    frame.right - 8,
    { integer: true },
  );
  const y = linearScale(
    [
      ...points.flatMap((p) => (hasInterval(p) ? [p.y, p.low, p.high] : [p.y])),
      ...(reference ? [reference.y] : []),
    ],
    frame.height - frame.bottom,
    frame.top,
  );
  const marks: string[] = [];
  for (const s of series) {
    const finite = s.points.filter((p) => Number.isFinite(p.y));
    if (finite.length > 1) {
      marks.push(
        tag(
          'polyline',
          {
            class: 'mark',
            points: finite
              .map((p) => `${Math.round(x(p.x) * 100) / 100},${Math.round(y(p.y) * 100) / 100}`)
              .join(' '),
            fill: 'none',
            stroke: s.colour,
            'stroke-width': 2,
          },
          title(s.label),
        ),
      );
    }
    for (const p of finite) {
      marks.push(
        (hasInterval(p) ? whisker(x(p.x), y(p.low), y(p.high), s.colour) : '') +
          tag(
            'circle',
            { class: 'mark', cx: x(p.x), cy: y(p.y), r: 3, fill: s.colour },
            title(
              `${s.label}, ${xTitle} ${p.x}: ${fmt(p.y, 1)}${hasInterval(p) ? ` [${fmt(p.low, 1)}, ${fmt(p.high, 1)}]` : ''}`,
            ),
          ),
      );
    }
  }
  const guide = reference
    ? tag('line', {
        x1: frame.left,
        x2: frame.right,
        y1: y(reference.y),
        y2: y(reference.y),
        stroke: '#999',
        'stroke-dasharray': '5 4',
      }) + text(frame.right - 4, y(reference.y) - 5, reference.label, { 'text-anchor': 'end', fill: '#777' })
    : '';
  return svg(
    'lines',
    frame,
    marks.length,
    `${yTitle} against ${xTitle}`,
    axes(frame, y, yTitle, { scale: x, title: xTitle }),
    guide,
    ...marks,
    legend(series, frame),
  );
}

/** A square matrix with labelled rows and columns, coloured blue (lo) – white – red (hi), values printed. */
export function heatMap(
  labels: readonly string[],
  matrix: Matrix,
  domain: readonly [number, number],
  digits = 2,
): string {
  const cell = 52;
  const labelWidth = 12 + CHAR * Math.max(...labels.map((l) => l.length));
  const size = labels.length * cell;
  const frame: Frame = {
    width: labelWidth + size + 8,
    height: labelWidth + size + 8,
    left: labelWidth,
    right: labelWidth + size,
    top: labelWidth,
    bottom: 8,
  };
  const parts: string[] = [];
  let marks = 0;
  matrix.forEach((row, i) =>
    row.forEach((value, j) => {
      const x = frame.left + j * cell;
      const y = frame.top + i * cell;
      const fill = divergingColour(value, domain[0], domain[1]);
      const t = Number.isFinite(value) ? (value - domain[0]) / (domain[1] - domain[0]) : 0.5;
      marks += 1;
      parts.push(
        tag(
          'rect',
          { class: 'mark', x, y, width: cell - 2, height: cell - 2, fill },
          title(`${labels[i]} × ${labels[j]}: ${fmt(value, 4)}`),
        ),
        text(x + (cell - 2) / 2, y + cell / 2 + 3, fmt(value, digits), {
          'text-anchor': 'middle',
          'font-size': 11,
          fill: t < 0.15 || t > 0.85 ? '#fff' : '#222',
        }),
      );
    }),
  );
  labels.forEach((label, i) => {
    const middle = frame.top + i * cell + cell / 2;
    parts.push(text(frame.left - 6, middle + 4, label, { 'text-anchor': 'end' }));
    const centre = frame.left + i * cell + cell / 2;
    parts.push(text(centre, frame.top - 6, label, { transform: `rotate(-45 ${centre} ${frame.top - 6})` }));
  });
  return svg('heatmap', frame, marks, `matrix over ${labels.join(', ')}`, ...parts);
}
