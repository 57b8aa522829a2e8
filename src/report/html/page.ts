/** The report as one self-contained HTML page: inline CSS and SVG, a few lines of inline script, no requests. */
import { ALL_SHARED } from '../../analysis/summary.js';
import { methodLabelOf } from '../../bench/recipe.js';
import { MTLZOO_VERSION } from '../../engine/environment.js';
import type { Matrix } from '../../metrics/gradients.js';
import { formatSpread, type Spread } from '../../metrics/summary.js';
import type { Interval } from '../../metrics/statistics.js';
import { groupedBarChart, heatMap, lineChart, scatterChart } from './charts.js';
import type { ReportData, ReportMethod } from './data.js';
import { escapeXml as esc, seriesColour } from './svg.js';

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1240px; padding: 24px; color: #222; }
  h1 { margin-bottom: 4px; } h2 { margin-top: 40px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
  p.meta, figcaption, .note { color: #555; }
  table { border-collapse: collapse; margin: 12px 0; font-size: 14px; }
  th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
  th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
  .hash { font-family: ui-monospace, monospace; font-size: 12px; }
  .figures { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
  /* A table box makes the caption as wide as its chart. */
  figure { margin: 8px 0; display: table; }
  figcaption { display: table-caption; caption-side: bottom; font-size: 13px; }
  small { color: #666; }
`;

/**
 * Self-check: counts the marks the browser actually laid out in each chart and reports a shortfall as a
 * console error (the browser test fails on those and reads `data-drawn`).
 */
const SELF_CHECK = `
  for (const chart of document.querySelectorAll('svg[data-chart]')) {
    let drawn = 0;
    for (const mark of chart.querySelectorAll('.mark')) {
      const box = mark.getBBox();
      if (box.width > 0 || box.height > 0) drawn += 1;
    }
    chart.setAttribute('data-drawn', String(drawn));
    if (drawn !== Number(chart.dataset.marks)) {
      console.error('chart ' + chart.dataset.chart + ' drew ' + drawn + ' of ' + chart.dataset.marks + ' marks');
    }
  }
`;

/** `mean ± std`, with the 95 % interval below it where the bench computed one (and n.s. when it is a difference containing 0). */
function cell(
  stats: (Spread & { ci?: Interval; significant?: boolean }) | undefined,
  digits = 3,
  scale = 1,
): string {
  if (!stats || stats.n === 0 || !Number.isFinite(stats.mean)) return '–';
  const shown = formatSpread({ ...stats, mean: stats.mean * scale, std: stats.std * scale }, digits);
  const ci = stats.ci;
  if (!ci || !Number.isFinite(ci.low) || !Number.isFinite(ci.high)) return shown;
  const range = `[${(ci.low * scale).toFixed(digits)}, ${(ci.high * scale).toFixed(digits)}]`;
  return `${shown}<br><small>${range}${stats.significant === false ? ' n.s.' : ''}</small>`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = `<tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr>`;
  return `<table>${head}${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</table>`;
}

function figure(chart: string, caption: string): string {
  return `<figure>${chart}<figcaption>${caption}</figcaption></figure>`;
}

function comparison(data: ReportData): string {
  const headers = [
    'method',
    ...data.metrics.map(esc),
    ...(data.baseline ? [`Δm vs ${esc(data.baseline)} (%)`] : []),
    'params',
    'params/task',
    'MB',
    'gallery passes',
    'ms/step',
  ];
  const rows = data.methods.map((m) => [
    `<b>${esc(m.label)}</b><br><small>${esc(m.method)}</small>`,
    ...data.metrics.map((name) => cell(m.metrics[name])),
    ...(data.baseline
      ? [methodLabelOf(m.label) === data.baseline ? 'baseline' : cell(m.deltaM, 2, 100)]
      : []),
    m.params.totalParams.toLocaleString('en-US'),
    m.params.paramsPerTask.toLocaleString('en-US'),
    (m.params.bytes / 1e6).toFixed(3),
    String(m.params.galleryPasses),
    cell(m.msPerStep, 0),
  ]);
  const perTask = data.metrics.map(
    (name) =>
      `<h3>${esc(name)} per task</h3>` +
      table(
        ['method', ...data.tasks.map(esc)],
        data.methods.map((m) => [esc(m.label), ...data.tasks.map((t) => cell(m.perTask[name]?.[t]))]),
      ),
  );
  const seeds =
    data.seeds.length > 1
      ? `mean ± std over seeds ${data.seeds.join(', ')}`
      : `seed ${data.seeds.join(', ')}`;
  const intervals = data.methods.some((m) => Object.values(m.metrics).some((c) => c.ci))
    ? `; below each figure its 95 % interval, from a bootstrap over seeds and test queries (n.s.: a Δm whose interval contains 0)`
    : '';
  return (
    `<h2>Comparison</h2><p class="meta">Test split, ${seeds}${intervals}.</p>` +
    table(headers, rows) +
    perTask.join('')
  );
}

function accuracyCharts(data: ReportData): string {
  const metric = data.metrics[0];
  if (!metric) return '';
  const colour = (i: number) => seriesColour(i);
  const scatter = scatterChart(
    data.methods.map((m, i) => ({
      label: m.label,
      colour: colour(i),
      x: m.params.totalParams,
      y: m.metrics[metric]?.mean ?? NaN,
      low: m.metrics[metric]?.ci?.low,
      high: m.metrics[metric]?.ci?.high,
      note: `${m.runs.length} run(s)`,
    })),
    'trainable parameters',
    metric,
  );
  const bars = groupedBarChart(
    data.tasks,
    data.methods.map((m, i) => ({
      label: m.label,
      colour: colour(i),
      values: data.tasks.map((t) => m.perTask[metric]?.[t]?.mean ?? NaN),
    })),
    metric,
  );
  return (
    `<h2>Accuracy and parameters</h2><div class="figures">` +
    figure(
      scatter,
      `Test ${esc(metric)} over all tasks against trainable parameters, one point per method.`,
    ) +
    figure(bars, `Test ${esc(metric)} per task, one bar per method.`) +
    `</div>`
  );
}

function cosineScaleNote(domain: readonly [number, number], digits = 1): string {
  return `blue ${domain[0].toFixed(digits)} – white – red ${domain[1].toFixed(digits)}`;
}

function gradients(data: ReportData): string {
  const probed = data.methods
    .map((m, i) => ({ m, colour: seriesColour(i) }))
    .filter(({ m }) => m.angle.length > 0);
  const intro =
    `<h2>Gradient directions across tasks</h2><p>The paper's argument: a method that lets tasks modulate ` +
    `shared features makes the tasks' gradients on the shared weights agree more (smaller angles). Per-task ` +
    `gradients of ${ALL_SHARED}, on a fixed set of validation triplets per task (<code>train.probe</code>); ` +
    `read them against the within-task angle (the noise floor) in the bench's results.md.</p>`;
  if (probed.length === 0) {
    return `${intro}<p class="note">No probe records: train with <code>train.probe.every</code> &gt; 0 to draw these charts.</p>`;
  }
  const curves = lineChart(
    probed.map(({ m, colour }) => ({
      label: m.label,
      colour,
      points: m.angle.map((a) => ({ x: a.step, y: a.degrees, low: a.low, high: a.high })),
    })),
    'training step',
    'mean angle between tasks (°)',
    { y: 90, label: 'orthogonal (90°)' },
  );
  const unprobed = data.methods.filter((m) => m.angle.length === 0).map((m) => esc(m.label));
  const maps = probed
    .filter(({ m }) => m.cosine)
    .map(({ m }) =>
      figure(
        heatMap(data.tasks, m.cosine!.matrix, [-1, 1]),
        `<b>${esc(m.label)}</b>: gradient cosine between tasks at step ${m.cosine!.step} (${cosineScaleNote([-1, 1])}); n/a where a task's gradient is zero, i.e. every probe triplet of it already meets the margin.`,
      ),
    );
  return (
    intro +
    figure(
      curves,
      `Mean across-task gradient angle over training${data.seeds.length > 1 ? ', mean over seeds' : ''}` +
        `${probed.some(({ m }) => m.angle.some((a) => Number.isFinite(a.low))) ? ' with the 95 % interval over seeds' : ''}.` +
        (unprobed.length > 0
          ? ` Not probed (no shared parameters or probe off): ${unprobed.join(', ')}.`
          : ''),
    ) +
    `<div class="figures">${maps.join('')}</div>`
  );
}

/** Colour range of a relatedness matrix: its own off-diagonal range, since learned vectors stay close. */
function relatednessDomain(matrix: Matrix): [number, number] {
  const off = matrix.flatMap((row, i) => row.filter((v, j) => i !== j && Number.isFinite(v)));
  const lo = off.length > 0 ? Math.min(...off) : -1;
  const hi = off.length > 0 ? Math.max(...off) : 1;
  return hi - lo < 1e-6 ? [lo - 1e-3, hi] : [lo, hi];
}

function relatednessSection(data: ReportData, method: ReportMethod): string {
  const r = method.relatedness;
  if (method.relatednessError) {
    return `<p class="note"><b>${esc(method.label)}</b>: checkpoint not readable by this version: ${esc(method.relatednessError)}</p>`;
  }
  if (!r) return `<p class="note"><b>${esc(method.label)}</b>: no checkpoint to read.</p>`;
  if (r.stages.length === 0) {
    return `<p class="note"><b>${esc(method.label)}</b>: no per-task variables of one shape across tasks, nothing to compare.</p>`;
  }
  const maps = r.stages.map((s) => {
    const domain = relatednessDomain(s.matrix);
    const byFactor = s.byFactor
      ? ` Pairs sharing a factor (${esc(s.byFactor.sharing.pairs.join(', '))}): mean ${s.byFactor.sharing.mean.toFixed(4)}; other pairs: ${s.byFactor.other.mean.toFixed(4)}.`
      : '';
    return figure(
      heatMap(data.tasks, s.matrix, domain, 3),
      `<b>${esc(method.label)}</b>, ${esc(s.stage)} [${s.shape.join('×')}]: cosine of ${s.rectified ? 'ReLU(v)' : 'v'} between tasks (${cosineScaleNote(domain, 4)}, the off-diagonal range).${byFactor}`,
    );
  });
  return `<div class="figures">${maps.join('')}</div>`;
}

function relatedness(data: ReportData): string {
  const factors = data.methods[0]?.relatedness;
  const known = factors
    ? `<p class="meta">Generating factors: ${factors.tasks.map((t, i) => `${esc(t)} (${esc(factors.factors[i]!.join(', ') || '–')})`).join('; ')}.</p>`
    : '';
  return (
    `<h2>Learned task relatedness</h2><p>Similarity of the tasks' learned task-specific variables per stage (first seed's run; best checkpoint, else last), to compare with how the tasks were built.</p>` +
    known +
    data.methods.map((m) => relatednessSection(data, m)).join('')
  );
}

function environment(data: ReportData): string {
  const env = data.environment;
  const envRows: [string, string][] = [
    ['mtlzoo', env.mtlzoo],
    ['Node', env.node],
    ['TensorFlow.js', env.tfjs],
    ['backend', `${env.backend} (${env.tfBackend})`],
    ['platform', env.platform],
    ['CPU', `${env.cpu}, ${env.cores} cores`],
    ['memory', `${env.memoryGiB} GiB`],
    ['GPU', env.gpu ?? 'none'],
  ];
  const runs = data.methods.flatMap((m) =>
    m.runs.map((r) => [
      esc(m.label),
      String(r.seed),
      esc(r.dir),
      `<span class="hash">${esc(r.configHash)}</span>`,
      `<span class="hash">${esc(r.weightsSha256.slice(0, 16))}…</span>`,
    ]),
  );
  return (
    `<h2>Environment and configs</h2>` +
    table(
      ['', 'value'],
      envRows.map(([k, v]) => [esc(k), esc(v)]),
    ) +
    table(['method', 'seed', 'run directory', 'config hash', 'weights sha256'], runs)
  );
}

export function renderReport(data: ReportData): string {
  const meta =
    `Dataset <b>${esc(data.dataset)}</b> (tasks: ${data.tasks.map(esc).join(', ')}), backbone <b>${esc(data.backbone)}</b>, ` +
    `${data.steps} steps; ${data.source === 'bench' ? 'bench' : 'run'} folder <code>${esc(data.dir)}</code>; measured ${esc(data.date.slice(0, 10))}.`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mtlzoo report: ${esc(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>mtlzoo report: ${esc(data.title)}</h1>
${data.description ? `<p>${esc(data.description)}</p>` : ''}
<p class="meta">${meta}</p></header>
<section id="comparison">${comparison(data)}</section>
<section id="accuracy">${accuracyCharts(data)}</section>
<section id="gradients">${gradients(data)}</section>
<section id="relatedness">${relatedness(data)}</section>
<section id="environment">${environment(data)}</section>
<footer><p class="meta">Generated by mtlzoo ${esc(MTLZOO_VERSION)}.</p></footer>
<script>${SELF_CHECK}</script>
</body>
</html>
`;
}
