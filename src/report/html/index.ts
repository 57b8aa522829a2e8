/**
 * `mtlzoo report`: one self-contained HTML file for a run directory or a bench folder, and beside it a
 * folder of the charts' Vega-Lite specs with their data (`report.html` → `report.charts/NAME.vl.json`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensureDir, removePath, writeFileAtomic } from '../../util/write.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Logger } from '../../plugin/types.js';
import { loadReportData, type ReportData } from '../data.js';
import { buildFigures, type SectionFigures } from '../figures.js';
import { renderChart, type RenderedChart } from '../render.js';
import { renderPage } from './page.js';

export type { ReportData, ReportMethod } from '../data.js';

/** `out/report.html` → `out/report.charts`. */
export function specFolderOf(out: string): string {
  return path.join(path.dirname(out), `${path.basename(out, path.extname(out))}.charts`);
}

export interface WrittenReport {
  readonly data: ReportData;
  readonly file: string;
  readonly specFolder: string;
  /** Names of the charts, i.e. of `<specFolder>/<name>.vl.json`. */
  readonly charts: readonly string[];
  readonly bytes: number;
}

/** Renders every chart figure in Node, by name. */
export async function renderCharts(sections: readonly SectionFigures[]): Promise<Map<string, RenderedChart>> {
  const rendered = new Map<string, RenderedChart>();
  for (const { figures } of sections) {
    for (const figure of figures) {
      if (figure.kind === 'chart') rendered.set(figure.name, await renderChart(figure.spec));
    }
  }
  return rendered;
}

/**
 * Writes the report of `dir` to `out` and the specs beside it, each atomically; spec files of charts the
 * report no longer has are removed. Chart warnings go to `log`.
 */
export async function writeReport(
  kernel: Kernel,
  dir: string,
  out: string,
  log?: Pick<Logger, 'warn'>,
): Promise<WrittenReport> {
  const file = path.resolve(out);
  const data = await loadReportData(kernel, dir);
  for (const run of data.unreadableRuns) {
    log?.warn(`run folder ${run.dir} not read (${run.reason}): the report's charts leave it out`);
  }
  const sections = buildFigures(data);
  const rendered = await renderCharts(sections);
  for (const [name, chart] of rendered) for (const w of chart.warnings) log?.warn(`chart ${name}: ${w}`);
  const specFolder = specFolderOf(file);
  const charts = sections.flatMap((s) => s.figures.filter((f) => f.kind === 'chart'));
  await ensureDir(specFolder);
  for (const chart of charts) {
    await writeFileAtomic(
      path.join(specFolder, `${chart.name}.vl.json`),
      `${JSON.stringify(chart.spec, null, 2)}\n`,
    );
  }
  const kept = new Set(charts.map((c) => `${c.name}.vl.json`));
  for (const entry of await fs.readdir(specFolder)) {
    if (entry.endsWith('.vl.json') && !kept.has(entry)) await removePath(path.join(specFolder, entry));
  }
  const html = renderPage(data, sections, rendered, path.basename(specFolder));
  await writeFileAtomic(file, html);
  return { data, file, specFolder, charts: charts.map((c) => c.name), bytes: Buffer.byteLength(html) };
}
