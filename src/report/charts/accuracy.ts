/** Accuracy against parameters (one point per method) and accuracy per task (one bar per method). */
import type { ReportData, ReportMethod } from '../data.js';
import type { Figure, FigureSource } from '../figure.js';
import { escapeHtml as esc } from '../html/escape.js';
import { placeLabels, type Box } from './labels.js';
import {
  FONT_SIZE,
  chart,
  exact,
  hasInterval,
  intervalFields,
  intervalMeaning,
  intervalOf,
  intervalTooltip,
  methodColour,
  withoutLegend,
  ONE_LEGEND,
  perSeedText,
  pickMethod,
  pickedOpacity,
  type Row,
} from './spec.js';

const WIDTH = 440;
const HEIGHT = 300;
/** Radius of a method's point (Vega draws a circle of size s with radius √s / 2). */
const POINT_RADIUS = 5.5;

/** Each seed's test value of `metric` (over all tasks, or of one task), from the run folders found. */
function seedValues(method: ReportMethod, metric: string, task?: string) {
  return method.runs.flatMap((run) => {
    const found = run.test?.find((m) => m.name === metric && m.task === task);
    return found ? [{ seed: run.seed, value: found.value }] : [];
  });
}

function paddedRange(values: readonly number[], fraction: number): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi > lo ? (hi - lo) * fraction : Math.max(Math.abs(lo) * 0.05, 0.01);
  return [lo - pad, hi + pad];
}

function scatter(data: ReportData, metric: string): Figure[] {
  const points = data.methods
    .map((m) => ({ m, spread: m.metrics[metric], seeds: seedValues(m, metric) }))
    .filter(({ spread }) => spread && Number.isFinite(spread.mean));
  if (points.length === 0) return [];
  const seedPoints = points.flatMap(({ m, seeds }) =>
    seeds.map((s) => ({
      method: m.label,
      params: m.params.totalParams,
      seed: s.seed,
      value: exact(s.value),
    })),
  );

  // Explicit domains, so the labels can be placed in pixels and stated in data units.
  const params = points.map(({ m }) => m.params.totalParams);
  const logLo = Math.log(Math.min(...params) / 1.3);
  const logHi = Math.log(Math.max(...params) * 1.3);
  const ys = points.flatMap(({ spread, seeds }) => {
    const interval = intervalOf(spread);
    return [
      spread!.mean,
      interval.lo ?? spread!.mean,
      interval.hi ?? spread!.mean,
      ...seeds.map((s) => s.value),
    ];
  });
  const [yLo, yHi] = paddedRange(ys.filter(Number.isFinite), 0.12);
  const px = (p: number) => (WIDTH * (Math.log(p) - logLo)) / (logHi - logLo);
  const py = (v: number) => HEIGHT * (1 - (v - yLo) / (yHi - yLo));
  const obstacles: Box[] = [
    ...points.flatMap(({ m, spread }) => {
      const { lo, hi } = intervalOf(spread);
      const x = px(m.params.totalParams);
      return lo === undefined || hi === undefined ? [] : [{ x0: x - 2, x1: x + 2, y0: py(hi), y1: py(lo) }];
    }),
    ...seedPoints.map((s) => {
      const x = px(s.params);
      const y = py(s.value ?? NaN);
      return { x0: x - 3, x1: x + 3, y0: y - 3, y1: y + 3 };
    }),
  ];
  const labels = placeLabels(
    points.map(({ m, spread }) => ({
      x: px(m.params.totalParams),
      y: py(spread!.mean),
      text: m.label,
      // The symbol's white outline, and a pixel of air.
      radius: POINT_RADIUS + 2,
    })),
    { width: WIDTH, height: HEIGHT, fontSize: FONT_SIZE, obstacles },
  );

  const rows: Row[] = points.map(({ m, spread, seeds }, i) => ({
    method: m.label,
    params: m.params.totalParams,
    paramsPerTask: m.params.paramsPerTask,
    value: exact(spread!.mean),
    ...intervalFields(intervalOf(spread)),
    n: spread!.n,
    seeds: m.runs.map((r) => r.seed).join(', '),
    perSeed: perSeedText(seeds),
    labelX: Math.exp(logLo + (labels[i]!.x / WIDTH) * (logHi - logLo)),
    labelY: yLo + (1 - labels[i]!.y / HEIGHT) * (yHi - yLo),
    labelAlign: labels[i]!.align,
    labelBaseline: labels[i]!.baseline,
  }));
  const x = (field: string) => ({
    field,
    type: 'quantitative',
    title: 'trainable parameters (log scale)',
    scale: { type: 'log', domain: [Math.exp(logLo), Math.exp(logHi)], nice: false },
    axis: { format: '~s', labelOverlap: 'greedy', labelSeparation: 6 },
  });
  const y = (field: string) => ({
    field,
    type: 'quantitative',
    title: metric,
    scale: { domain: [yLo, yHi], nice: false, zero: false },
  });
  const colour = methodColour(data);
  const meaning = intervalMeaning(points.map((p) => p.spread));
  const spec = chart(`${metric} against trainable parameters, one point per method`, {
    width: WIDTH,
    height: HEIGHT,
    resolve: ONE_LEGEND,
    layer: [
      ...(hasInterval(rows)
        ? [
            {
              name: 'intervals',
              data: { values: rows },
              mark: { type: 'rule', strokeWidth: 1.5 },
              encoding: {
                x: x('params'),
                y: y('lo'),
                y2: { field: 'hi' },
                color: withoutLegend(colour),
                opacity: pickedOpacity(),
              },
            },
          ]
        : []),
      ...(seedPoints.length > 0
        ? [
            {
              name: 'seeds',
              data: { values: seedPoints },
              mark: { type: 'point', size: 28, filled: false, strokeWidth: 1 },
              encoding: {
                x: x('params'),
                y: y('value'),
                color: withoutLegend(colour),
                opacity: pickedOpacity(0.8, 0.08),
                tooltip: [
                  { field: 'method' },
                  { field: 'seed' },
                  { field: 'value', title: metric, format: '.4f' },
                ],
              },
            },
          ]
        : []),
      {
        name: 'means',
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
          x: x('params'),
          y: y('value'),
          color: colour,
          opacity: pickedOpacity(1, 0.15),
          tooltip: [
            { field: 'method' },
            { field: 'value', title: `${metric}, mean`, format: '.4f' },
            ...intervalTooltip(rows),
            { field: 'seeds' },
            { field: 'perSeed', title: 'per seed' },
            { field: 'params', title: 'trainable parameters', format: ',' },
            { field: 'paramsPerTask', title: 'parameters per task', format: ',' },
          ],
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
          x: x('labelX'),
          y: y('labelY'),
          text: { field: 'method' },
          opacity: pickedOpacity(1, 0.15),
        },
      },
    ],
  });
  return [
    {
      kind: 'chart',
      name: 'accuracy-params',
      spec,
      caption:
        `Test ${esc(metric)} over all tasks against trainable parameters, one point per method (mean over seeds` +
        `${seedPoints.length > 0 ? '; hollow points: single seeds' : ''}${meaning ? `; bars: ${meaning}` : ''}).`,
    },
  ];
}

function perTask(data: ReportData, metric: string): Figure[] {
  const spreads = data.methods.flatMap((m) => data.tasks.map((t) => m.perTask[metric]?.[t]));
  const rows: Row[] = data.methods.flatMap((m) =>
    data.tasks.flatMap((task) => {
      const spread = m.perTask[metric]?.[task];
      if (!spread || !Number.isFinite(spread.mean)) return [];
      return [
        {
          method: m.label,
          task,
          value: exact(spread.mean),
          ...intervalFields(intervalOf(spread)),
          perSeed: perSeedText(seedValues(m, metric, task)),
        },
      ];
    }),
  );
  if (rows.length === 0) return [];
  const order = data.methods.map((m) => m.label);
  const x = { field: 'task', type: 'nominal', sort: [...data.tasks], title: null, axis: { labelAngle: 0 } };
  const xOffset = { field: 'method', type: 'nominal', sort: order };
  const y = { field: 'value', type: 'quantitative', title: metric };
  const meaning = intervalMeaning(spreads);
  const spec = chart(`${metric} per task, one bar per method`, {
    width: Math.max(360, data.tasks.length * (data.methods.length * 12 + 24)),
    height: HEIGHT,
    data: { values: rows },
    layer: [
      {
        params: [pickMethod],
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset,
          y,
          color: methodColour(data),
          opacity: pickedOpacity(1, 0.15),
          tooltip: [
            { field: 'method' },
            { field: 'task' },
            { field: 'value', title: `${metric}, mean`, format: '.4f' },
            ...intervalTooltip(rows),
            { field: 'perSeed', title: 'per seed' },
          ],
        },
      },
      ...(hasInterval(rows)
        ? [
            {
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
  return [
    {
      kind: 'chart',
      name: 'accuracy-per-task',
      spec,
      caption: `Test ${esc(metric)} per task, one bar per method${meaning ? ` (${meaning})` : ''}.`,
    },
  ];
}

export const accuracyFigures: FigureSource = {
  section: 'accuracy',
  build(data) {
    const metric = data.metrics[0];
    return metric ? [...scatter(data, metric), ...perTask(data, metric)] : [];
  },
};
