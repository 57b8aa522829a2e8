/**
 * The report as one self-contained HTML page: inline CSS, every chart as static SVG (drawn in Node, readable
 * with scripts off), the compiled chart specs and Vega's runtime inline (interactive with scripts on),
 * images as data URIs. Nothing is fetched.
 */
import { methodLabelOf } from '../../bench/recipe.js';
import { MTLZOO_VERSION, nativePackNote } from '../../engine/environment.js';
import { formatSpread, type Spread } from '../../metrics/summary.js';
import type { ReportData, ReportDifference } from '../data.js';
import type { ChartFigure, Figure, GridImage, ImageFigure, ImageGridFigure } from '../figure.js';
import type { SectionFigures } from '../figures.js';
import type { RenderedChart } from '../render.js';
import { escapeHtml as esc } from './escape.js';
import { pageScript } from './script.js';

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1240px; padding: 24px; color: #222; }
  h1 { margin-bottom: 4px; } h2 { margin-top: 40px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
  p.meta, figcaption, .note { color: #555; }
  p.interim { background: #fff6d6; border-left: 4px solid #e0b000; padding: 6px 10px; }
  table { border-collapse: collapse; margin: 12px 0; font-size: 14px; }
  th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
  th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
  .hash { font-family: ui-monospace, monospace; font-size: 12px; }
  .figures { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
  figure { margin: 8px 0; max-width: 100%; }
  figcaption { font-size: 13px; max-width: 640px; }
  .chart svg, figure img { max-width: 100%; height: auto; }
  table.image-grid { margin: 0; font-size: 13px; }
  .image-grid th, .image-grid td { border: 0; padding: 2px 3px; text-align: center; background: none; }
  .image-grid th[scope="row"] { text-align: right; vertical-align: middle; font-weight: normal; }
  .image-grid img { display: block; margin: 0 auto; } .image-grid td small { display: block; }
  .ramp { display: inline-block; width: 80px; height: 10px; vertical-align: middle; border: 1px solid #ccc; }
  small { color: #666; }
  .vg-tip { position: fixed; z-index: 10; pointer-events: none; background: #fff; border: 1px solid #bbb;
    border-radius: 3px; box-shadow: 0 2px 6px rgba(0,0,0,.15); padding: 4px 8px; font-size: 12px; }
  .vg-tip table { margin: 0; font-size: 12px; } .vg-tip td { border: 0; padding: 1px 4px; text-align: left; }
  .vg-tip td.key { color: #666; }
`;

/** `mean ± std`, with the 95 % interval below it where the bench computed one (and n.s. when it is a difference containing 0). */
function cell(
  stats: (Spread & Partial<Pick<ReportDifference, 'ci' | 'significant'>>) | undefined,
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
    unreadableNote(data) +
    table(headers, rows) +
    perTask.join('')
  );
}

/** The run folders found here that could not be read, and why: the tables come from results.json. */
function unreadableNote(data: ReportData): string {
  if (data.unreadableRuns.length === 0) return '';
  const items = data.unreadableRuns.map((r) => `<li><code>${esc(r.dir)}</code>: ${esc(r.reason)}</li>`);
  return (
    `<div class="note"><p>Run folders that could not be read; the tables come from results.json, the charts ` +
    `leave these runs out:</p><ul>${items.join('')}</ul></div>`
  );
}

/** A spec inside `<script type="application/json">`: `<` escaped so no text can close the element. */
function jsonScript(id: string, value: unknown): string {
  const json = JSON.stringify(value).replace(/</g, '\\u003c');
  return `<script type="application/json" id="${esc(id)}">${json}</script>`;
}

/**
 * Ids inside a static chart (clip paths, gradients) made unique in the page: every chart numbers its own
 * from 1, and so do the live views that replace them.
 */
function scopedIds(svg: string, scope: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${scope}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${scope}-$1)`);
}

function chartFigure(figure: ChartFigure, rendered: RenderedChart): string {
  return (
    `<figure data-chart="${esc(figure.name)}" data-marks="${rendered.marks}" data-state="static">` +
    `<div class="chart">${scopedIds(rendered.svg, `static-${figure.name}`)}</div><figcaption>${figure.caption}</figcaption>` +
    jsonScript(`spec-${figure.name}`, rendered.vega) +
    `</figure>`
  );
}

const pngUri = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

function imageFigure(figure: ImageFigure): string {
  return (
    `<figure data-image="${esc(figure.name)}"><img src="${pngUri(figure.png)}" alt="${esc(figure.alt)}">` +
    `<figcaption>${figure.caption}</figcaption></figure>`
  );
}

function gridImage(image: GridImage): string {
  const alt = esc(image.alt);
  return (
    `<td><img src="${pngUri(image.png)}" width="${image.width}" height="${image.height}" alt="${alt}" title="${alt}">` +
    `${image.note ? `<small>${image.note}</small>` : ''}</td>`
  );
}

function imageGridFigure(figure: ImageGridFigure): string {
  const head = `<tr><th></th>${figure.columns.map((c) => `<th>${c}</th>`).join('')}</tr>`;
  const rows = figure.rows.map(
    (row) => `<tr><th scope="row">${row.label}</th>${row.images.map(gridImage).join('')}</tr>`,
  );
  return (
    `<figure data-image-grid="${esc(figure.name)}"><table class="image-grid">${head}${rows.join('')}</table>` +
    `<figcaption>${figure.caption}</figcaption></figure>`
  );
}

function figureHtml(figure: Figure, rendered: ReadonlyMap<string, RenderedChart>): string {
  switch (figure.kind) {
    case 'chart':
      return chartFigure(figure, rendered.get(figure.name)!);
    case 'image':
      return imageFigure(figure);
    case 'image-grid':
      return imageGridFigure(figure);
    case 'note':
      return `<p class="note">${figure.html}</p>`;
  }
}

function figureSection(
  { section, figures }: SectionFigures,
  data: ReportData,
  rendered: ReadonlyMap<string, RenderedChart>,
): string {
  if (figures.length === 0) return '';
  const notes = figures.filter((f) => f.kind === 'note');
  const shown = figures.filter((f) => f.kind !== 'note');
  return (
    `<section id="${esc(section.id)}"><h2>${esc(section.title)}</h2>${section.intro?.(data) ?? ''}` +
    notes.map((f) => figureHtml(f, rendered)).join('') +
    (shown.length > 0
      ? `<div class="figures">${shown.map((f) => figureHtml(f, rendered)).join('')}</div>`
      : '') +
    `</section>`
  );
}

function environment(data: ReportData): string {
  const env = data.environment;
  const envRows: [string, string][] = [
    ['mtlzoo', env.commit ? `${env.mtlzoo} (commit ${env.commit})` : env.mtlzoo],
    ['Node', env.node],
    ['TensorFlow.js', env.tfjs],
    ['backend', `${env.backend} (${env.tfBackend})${nativePackNote(env)}`],
    ['platform', env.platform],
    ['CPU', `${env.cpu}, ${env.cores} cores`],
    ['memory', `${env.memoryGiB} GiB`],
    ['GPU', env.gpu ?? 'none'],
  ];
  const runs = data.methods.flatMap((m) =>
    m.runs.map((r) => [
      esc(m.label),
      String(r.seed),
      `<code>${esc(r.dir)}</code>${r.here ? (r.unreadable ? ' <small>(not readable)</small>' : '') : ' <small>(not here)</small>'}`,
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
    table(['method', 'seed', `run folder (in ${esc(data.folder)}/)`, 'config hash', 'weights sha256'], runs)
  );
}

/**
 * The page; `rendered` holds the Node rendering of every chart figure, by name; `specFolder` is where the
 * charts' Vega-Lite specs are written, relative to the page.
 */
export function renderPage(
  data: ReportData,
  sections: readonly SectionFigures[],
  rendered: ReadonlyMap<string, RenderedChart>,
  specFolder: string,
): string {
  const meta =
    `Dataset <b>${esc(data.dataset)}</b> (tasks: ${data.tasks.map(esc).join(', ')}), backbone <b>${esc(data.backbone)}</b>, ` +
    `${data.steps} steps; ${data.source} folder <code>${esc(data.folder)}</code>; measured ${esc(data.date.slice(0, 10))}.`;
  const charts = sections.some((s) => s.figures.some((f) => f.kind === 'chart'));
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
${data.interim ? `<p class="interim">${esc(data.interim)}</p>` : ''}
<p class="meta">${meta}</p>${charts ? `<p class="meta">Charts: hover for exact values and seeds, click a legend entry to pick a method (shift-click for more, click elsewhere in the chart for all), scroll or drag to zoom and pan the scatter plot (double-click resets). Their Vega-Lite specs, data included, are in <code>${esc(specFolder)}/</code> beside this file.</p>` : ''}</header>
<section id="comparison">${comparison(data)}</section>
${sections.map((s) => figureSection(s, data, rendered)).join('\n')}
<section id="environment">${environment(data)}</section>
<footer><p class="meta">Generated by mtlzoo ${esc(MTLZOO_VERSION)}; charts drawn with Vega.</p></footer>
${charts ? `<script>${pageScript()}</script>` : ''}
</body>
</html>
`;
}
