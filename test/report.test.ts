import { strict as assert } from 'node:assert';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import type { BenchResults } from '../src/bench/bench.js';
import { Kernel } from '../src/kernel/kernel.js';
import { loadReportData } from '../src/report/data.js';
import type { FigureSource } from '../src/report/figure.js';
import { FIGURES, SECTIONS, buildFigures } from '../src/report/figures.js';
import { renderCharts } from '../src/report/html/index.js';
import { renderPage } from '../src/report/html/page.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';
import { smallConfig } from './helpers/experiment.js';
import { copyWithUnknownCheckpointFormat, tempDir, writeFiles } from './helpers/files.js';

const TASKS = ['colour', 'shape', 'position'];
const CHARTS = [
  'accuracy-params',
  'accuracy-per-task',
  'gradient-angle',
  'gradient-cosine',
  'relatedness-modulation',
];
/** Where the browser test leaves its screenshot for people to look at. */
const SCREENSHOT = path.join(tmpdir(), 'mtlzoo-report-test', 'report.png');

interface ChartInPage {
  readonly name: string;
  readonly marks: number;
  /** Data-mark elements per mark name (`points_marks`, `labels_marks`…) in the static SVG. */
  readonly byMark: Record<string, number>;
}

/** The charts of a report page, from their figures and static SVG. */
function chartsIn(html: string): ChartInPage[] {
  const figures = [
    ...html.matchAll(/<figure data-chart="([^"]+)" data-marks="(\d+)"[^>]*>([\s\S]*?)<\/figure>/g),
  ];
  return figures.map(([, name, marks, body]) => {
    const byMark: Record<string, number> = {};
    for (const [, mark, items] of body!.matchAll(
      /<g class="mark-[a-z]+ role-mark ([\w-]+)"[^>]*?(?<!\/)>([\s\S]*?)<\/g>/g,
    )) {
      byMark[mark!] = (byMark[mark!] ?? 0) + (items!.match(/<(path|text|line)\b/g) ?? []).length;
    }
    return { name: name!, marks: Number(marks), byMark };
  });
}

/** The layers of a chart spec written beside the report, as far as the tests read them. */
interface ChartLayers {
  readonly layer: readonly {
    readonly name?: string;
    readonly mark: { readonly type: string };
    readonly data?: { readonly values: readonly Record<string, unknown>[] };
    readonly encoding: Record<string, unknown>;
  }[];
}

/** The page without its scripts (Vega's code mentions URLs and attributes it never loads). */
const withoutScripts = (html: string) => html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '');

describe('report', function () {
  this.timeout(180_000);
  let workspace: ReturnType<typeof tempDir>;
  let benchDir: string;
  let results: BenchResults;
  let reportFile: string;
  let html: string;

  before(async () => {
    workspace = tempDir();
    writeFiles(workspace.dir, {
      'base.yaml': smallConfig({ steps: 4, extra: '  probe: { every: 2, tripletsPerTask: 4 }\n' }),
      'recipe.yaml': `description: two methods on tiny shapes, for the report test
config: base.yaml
seeds: [0, 1]
baseline: separate
metrics: [triplet-accuracy, mAP@5]
methods:
  - label: modulation
    method: { name: modulation, options: { form: vector } }
  - label: separate
    method: separate
`,
    });
    benchDir = path.join(workspace.dir, 'bench');
    const bench = await runCli('bench', path.join(workspace.dir, 'recipe.yaml'), '--out', benchDir);
    assert.equal(bench.code, 0, bench.log);
    results = JSON.parse(await fs.readFile(path.join(benchDir, 'results.json'), 'utf8')) as BenchResults;
    reportFile = path.join(workspace.dir, 'out', 'report.html');
    const report = await runCli('report', benchDir, '--out', reportFile);
    assert.equal(report.code, 0, report.log);
    assert.equal(report.stdout.trim(), reportFile);
    assert.doesNotMatch(report.log, /warning/, 'charts compile and run without warnings');
    html = await fs.readFile(reportFile, 'utf8');
  });
  after(() => workspace.cleanup());

  it('names every method and task of the bench, with the config hashes and environment', () => {
    for (const row of results.rows) {
      assert.ok(html.includes(`<b>${row.label}</b>`), `method ${row.label}`);
      for (const hash of row.configHashes) assert.ok(html.includes(hash), `config hash ${hash}`);
    }
    assert.deepEqual(results.tasks, TASKS);
    for (const task of results.tasks) assert.ok(html.includes(`>${task}<`), `task ${task}`);
    assert.ok(html.includes(results.environment.cpu));
    assert.match(html, /Δm vs separate/);
  });

  it('is one file with nothing to fetch, and prints paths relative to the bench folder', async () => {
    const page = withoutScripts(html);
    assert.doesNotMatch(page, /<link\b|@import/);
    for (const [, value] of page.matchAll(/\b(?:src|href)="([^"]*)"/g)) {
      assert.match(value!, /^data:image\/png;base64,/, `only inline images: ${value}`);
    }
    assert.doesNotMatch(html, /<script\b[^>]*\bsrc=/);
    assert.ok(!html.includes(workspace.dir), 'no absolute path of this machine');
    assert.match(page, /<code>modulation\/seed-0<\/code>/);
    assert.match(page, /bench folder <code>bench<\/code>/);
    // Neither method exposes attention maps (MtlModel.explain): no section for them, not even empty.
    assert.doesNotMatch(page, /id="attention"|Where each task looks|data-image-grid/);
    assert.deepEqual((await fs.readdir(path.dirname(reportFile))).sort(), ['report.charts', 'report.html']);
  });

  it("shows the bench's intervals: under each figure, as error bars on the accuracy points and the angle curve", async () => {
    const row = results.rows.find((r) => r.label === 'modulation')!;
    const accuracy = row.metrics['triplet-accuracy']!;
    const ci = accuracy.ci!;
    assert.ok(ci.low <= accuracy.mean && accuracy.mean <= ci.high);
    const under = (low: number, high: number, digits: number) =>
      `<br><small>[${low.toFixed(digits)}, ${high.toFixed(digits)}]`;
    assert.ok(html.includes(under(ci.low, ci.high, 3)), 'the interval under the comparison figure');
    const delta = row.deltaM!;
    assert.ok(
      html.includes(
        `${under(delta.ci!.low * 100, delta.ci!.high * 100, 2)}${delta.significant ? '' : ' n.s.'}</small>`,
      ),
      'Δm with its interval, n.s. when it contains 0',
    );
    assert.match(html, /bootstrap over seeds and test queries/);

    const folder = path.join(path.dirname(reportFile), 'report.charts');
    const layers = async (name: string) =>
      (JSON.parse(await fs.readFile(path.join(folder, `${name}.vl.json`), 'utf8')) as ChartLayers).layer;
    // The scatter: the point's interval is the bench's, drawn as a rule and listed in the tooltip.
    const scatter = await layers('accuracy-params');
    const point = scatter.find((l) => l.name === 'points')!;
    const datum = point.data!.values.find((v) => v.method === 'modulation')!;
    assert.deepEqual([datum.lo, datum.hi], [Number(ci.low.toFixed(6)), Number(ci.high.toFixed(6))]);
    const tooltip = (point.encoding.tooltip as { field: string }[]).map((t) => t.field);
    assert.ok(tooltip.includes('lo') && tooltip.includes('hi'), `the interval in the tooltip: ${tooltip}`);
    assert.ok(scatter.some((l) => l.name === 'intervals' && l.mark.type === 'rule'));
    const charts = chartsIn(html);
    const marks = (chart: string, mark: string) => charts.find((c) => c.name === chart)!.byMark[mark];
    assert.equal(marks('accuracy-params', 'intervals_marks'), 2, 'an error bar per method');
    assert.match(html, /bars: 95 % interval, bootstrap over seeds and test queries/);

    // The angle curve: at each probed step the bench's interval over seeds, and the within-task angle.
    const curve = row.gradients!.curve;
    const angleLayer = (await layers('gradient-angle')).find((l) => l.name === 'points')!;
    const angle = angleLayer.data!.values.filter((v) => v.method === 'modulation');
    assert.deepEqual(
      angle.map((v) => [v.x, v.lo, v.hi]),
      curve.steps.map((step, i) => [
        step,
        Number(curve.low[i]!.toFixed(6)),
        Number(curve.high[i]!.toFixed(6)),
      ]),
    );
    const within = (angleLayer.encoding.tooltip as { field: string; title?: string }[]).find((t) =>
      t.title?.startsWith('within a task'),
    )!;
    assert.deepEqual(
      angle.map((v) => v[within.field]),
      curve.within.map((w) => Number(w.toFixed(2))),
      'the noise floor in the tooltip',
    );
    assert.equal(marks('gradient-angle', 'intervals_marks'), curve.steps.length, 'a whisker per probed step');
    assert.match(html, /bars: the 95 % interval over seeds/);
    assert.match(html, /fixed set of validation triplets/);
    assert.match(html, /within-task angle \(the noise floor/);
  });

  it('draws every chart with its marks: points, bars, angle curve, cosine and relatedness maps', () => {
    const charts = chartsIn(html);
    assert.deepEqual(
      charts.map((c) => c.name),
      CHARTS,
    );
    const chart = (name: string) => charts.find((c) => c.name === name)!;
    for (const c of charts) {
      const total = Object.values(c.byMark).reduce((a, b) => a + b, 0);
      assert.equal(total, c.marks, `${c.name}: data-marks counts the static SVG's mark elements`);
    }
    const t = TASKS.length;
    // Two methods × two seeds; modulation is probed at steps 2 and 4, separate has no shared parameters.
    assert.equal(chart('accuracy-params').byMark.points_marks, 2);
    assert.equal(chart('accuracy-params').byMark.singles_marks, 4);
    assert.equal(chart('accuracy-params').byMark.labels_marks, 2);
    assert.equal(chart('accuracy-per-task').byMark.bars_marks, 2 * t, 'one bar per method and task');
    assert.equal(chart('gradient-angle').byMark.reference_marks, 1, 'the 90° line');
    assert.equal(chart('gradient-angle').byMark.points_marks, 2, 'a point per probed step');
    assert.equal(chart('gradient-cosine').marks, 2 * t * t, 'one map: cells and their values');
    assert.equal(chart('relatedness-modulation').marks, 3 * 2 * t * t, 'conv1, conv2 and embedding');
    assert.match(html, /separate<\/b>: no per-task variables/);
    assert.match(html, /Not probed \(no shared parameters or probe off\): separate/);
  });

  it('writes each chart as a Vega-Lite spec with its data, which Vega renders in Node', async () => {
    const folder = path.join(path.dirname(reportFile), 'report.charts');
    assert.deepEqual((await fs.readdir(folder)).sort(), CHARTS.map((c) => `${c}.vl.json`).sort());
    const vega = await import('vega');
    const { compile } = await import('vega-lite');
    const marksInPage = new Map(chartsIn(html).map((c) => [c.name, c.marks]));
    for (const name of CHARTS) {
      const text = await fs.readFile(path.join(folder, `${name}.vl.json`), 'utf8');
      assert.doesNotMatch(text, /"url"/, `${name}: data inline`);
      assert.ok(!text.includes(workspace.dir), `${name}: no absolute path`);
      const spec = JSON.parse(text) as { $schema: string };
      assert.equal(spec.$schema, 'https://vega.github.io/schema/vega-lite/v6.json');
      const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'none' });
      const svg = await view.toSVG();
      view.finalize();
      const drawn = chartsIn(`<figure data-chart="${name}" data-marks="0">${svg}</figure>`)[0]!;
      const total = Object.values(drawn.byMark).reduce((a, b) => a + b, 0);
      assert.equal(total, marksInPage.get(name), `${name}: the spec draws what the page shows`);
    }
  });

  it('reports a single run directory as well', async () => {
    const runDir = results.rows[0]!.runDirs[0]!;
    const out = path.join(workspace.dir, 'run-report.html');
    const report = await runCli('report', runDir, '--out', out);
    assert.equal(report.code, 0, report.log);
    const single = await fs.readFile(out, 'utf8');
    assert.match(single, /mtlzoo report: modulation on shapes/);
    assert.deepEqual(
      chartsIn(single).map((c) => c.name),
      CHARTS,
    );
    assert.ok(!single.includes(workspace.dir), 'no absolute path');
    const unfinished = await runCli('report', workspace.dir);
    assert.equal(unfinished.code, 2);
    assert.match(unfinished.log, /is not a run directory/);
  });

  it('finds the runs of a bench folder moved whole, and says which runs are missing', async () => {
    const moved = path.join(workspace.dir, 'moved', 'bench');
    await fs.cp(benchDir, moved, { recursive: true });
    const movedReport = await runCli('report', moved, '--out', path.join(workspace.dir, 'moved.html'));
    assert.equal(movedReport.code, 0, movedReport.log);
    const movedHtml = await fs.readFile(path.join(workspace.dir, 'moved.html'), 'utf8');
    assert.deepEqual(
      chartsIn(movedHtml).map((c) => c.name),
      CHARTS,
    );

    // results.json alone (as a zoo entry records it): tables and accuracy charts, and a note.
    const alone = path.join(workspace.dir, 'alone');
    await fs.mkdir(alone);
    await fs.copyFile(path.join(benchDir, 'results.json'), path.join(alone, 'results.json'));
    await fs.rename(benchDir, `${benchDir}-gone`);
    try {
      const report = await runCli('report', alone);
      assert.equal(report.code, 0, report.log);
      const page = await fs.readFile(path.join(alone, 'report.html'), 'utf8');
      assert.deepEqual(
        chartsIn(page).map((c) => c.name),
        ['accuracy-params', 'accuracy-per-task', 'gradient-angle'],
        'the angle curve from the statistics in results.json',
      );
      assert.match(
        page,
        /4 run folder\(s\) named in results.json are not here \(<code>modulation\/seed-0<\/code>/,
      );
      assert.match(page, /<code>separate\/seed-1<\/code> <small>\(not here\)<\/small>/);
    } finally {
      await fs.rename(`${benchDir}-gone`, benchDir);
    }
  });

  it('reads results.json with fields it does not know, and names the file and key of a broken one', async () => {
    const dir = path.join(workspace.dir, 'edited');
    await fs.mkdir(dir);
    const edited = {
      ...results,
      statistics: { method: 'bootstrap' },
      rows: results.rows.map((r) => ({ ...r, note: 'extra' })),
    };
    await fs.writeFile(path.join(dir, 'results.json'), JSON.stringify(edited));
    assert.equal((await runCli('report', dir)).code, 0);

    const broken = { ...results, rows: [{ ...results.rows[0], params: { totalParams: 'many' } }] };
    await fs.writeFile(path.join(dir, 'results.json'), JSON.stringify(broken));
    const report = await runCli('report', dir);
    assert.equal(report.code, 1);
    assert.match(report.log, /results\.json: rows\[0\]\.params\.sharedParams: /);
    assert.match(report.log, /results\.json: rows\[0\]\.params\.totalParams: /);
  });

  it('names a checkpoint it cannot read (a format it does not know) and reports the rest from the records', async () => {
    const runDir = results.rows[0]!.runDirs[0]!;
    const copy = path.join(workspace.dir, 'old-format-run');
    await copyWithUnknownCheckpointFormat(runDir, copy);
    const out = path.join(workspace.dir, 'old-format-report.html');
    const report = await runCli('report', copy, '--out', out);
    assert.equal(report.code, 0, report.log);
    const page = await fs.readFile(out, 'utf8');
    assert.match(page, /modulation<\/b>: checkpoint not readable by this version: .*mtlzoo-checkpoint\/0/);
    assert.doesNotMatch(page, /id="attention"/, 'no attention note for a method without explain');
    assert.ok(!withoutScripts(page).includes(workspace.dir), 'the error without paths of this machine');
    assert.deepEqual(
      chartsIn(page).map((c) => c.name),
      ['accuracy-params', 'accuracy-per-task', 'gradient-angle', 'gradient-cosine'],
      'tables and probe charts still drawn; no relatedness maps',
    );
  });

  it('names run folders it cannot read (no config, torn summary or log) and reports the other runs', async () => {
    // A copy whose results.json names its runs relative to it, so the originals are not found instead.
    const copy = path.join(workspace.dir, 'torn', 'bench');
    await fs.cp(benchDir, copy, { recursive: true });
    const relative = {
      ...results,
      rows: results.rows.map((r) => ({ ...r, runDirs: r.runDirs.map((d) => path.relative(benchDir, d)) })),
    };
    await fs.writeFile(path.join(copy, 'results.json'), JSON.stringify(relative));
    await fs.rm(path.join(copy, 'modulation', 'seed-1', 'config.yaml'));
    const summary = path.join(copy, 'separate', 'seed-0', 'summary.json');
    const text = await fs.readFile(summary, 'utf8');
    await fs.writeFile(summary, text.slice(0, text.length / 2));
    await fs.appendFile(path.join(copy, 'separate', 'seed-1', 'metrics.jsonl'), 'not json\n{}\n');

    const report = await runCli('report', copy);
    assert.equal(report.code, 0, report.log);
    assert.match(
      report.log,
      /run folder modulation\/seed-1 not read \(modulation\/seed-1 has no config\.yaml\)/,
    );
    const page = await fs.readFile(path.join(copy, 'report.html'), 'utf8');
    const reasons = [...page.matchAll(/<li><code>([^<]+)<\/code>: ([^<]+)<\/li>/g)].map(([, d, r]) => [d, r]);
    assert.deepEqual(
      reasons.map(([dir]) => dir),
      ['modulation/seed-1', 'separate/seed-0', 'separate/seed-1'],
    );
    assert.match(reasons[1]![1]!, /^separate\/seed-0\/summary\.json: /);
    assert.match(reasons[2]![1]!, /^separate\/seed-1\/metrics\.jsonl:\d+: not a JSON record/);
    assert.ok(!withoutScripts(page).includes(workspace.dir), 'reasons without paths of this machine');
    assert.match(page, /<code>separate\/seed-0<\/code> <small>\(not readable\)<\/small>/);
    assert.match(page, /3 run folder\(s\) could not be read/);
    // Tables from results.json; charts from the one run of each method that could be read.
    for (const row of results.rows) assert.ok(page.includes(`<b>${row.label}</b>`));
    const charts = chartsIn(page);
    assert.deepEqual(
      charts.map((c) => c.name),
      CHARTS,
    );
    assert.equal(charts[0]!.byMark.singles_marks, 1, 'one seed of modulation; none of separate');
  });

  describe('in headless Chromium', function () {
    let browser: Browser;

    before(async function () {
      if (!existsSync(CHROMIUM)) {
        console.log(`    skipped: ${CHROMIUM} is absent (apt-get install -y chromium; .ci/run installs it)`);
        this.skip();
      }
      browser = await launchChromium();
    });
    after(async () => browser?.close());

    /** Opens a page; collects console errors, page errors and every request that is not the file itself. */
    async function open(file: string, options: { javaScriptEnabled?: boolean } = {}) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, ...options });
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
      page.on('pageerror', (e) => problems.push(e.message));
      const own = pathToFileURL(file).href;
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url === own || url.startsWith('data:')) return route.continue();
        requests.push(url);
        return route.abort();
      });
      await page.goto(own);
      return { context, page, problems, requests };
    }

    /** Evaluates a JavaScript expression in the page (kept as text: the project compiles without DOM types). */
    const inPage = <T>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;

    /** [name, state, drawn (by the page's script or, with `count`, counted here), marks] of every chart. */
    const chartStates = (page: Page, count: boolean) =>
      inPage<[string, string, number, number][]>(
        page,
        `[...document.querySelectorAll('figure[data-chart]')].map((f) => {
          let drawn = Number(f.dataset.drawn);
          if (${count}) {
            drawn = 0;
            for (const e of f.querySelectorAll('.role-mark > *')) {
              const box = e.getBBox();
              if (box.width > 0 || box.height > 0) drawn += 1;
            }
          }
          return [f.dataset.chart, f.dataset.state, drawn, Number(f.dataset.marks)];
        })`,
      );

    const SCATTER = 'figure[data-chart="accuracy-params"]';

    it('makes every chart interactive: marks drawn, tooltips, legend filter, zoom; nothing logged or fetched', async () => {
      const { context, page, problems, requests } = await open(reportFile);
      try {
        await page.waitForFunction('document.body.dataset.charts', null, { timeout: 60_000 });
        assert.equal(await inPage(page, 'document.body.dataset.charts'), 'ready', problems.join('\n'));
        const states = await chartStates(page, false);
        assert.deepEqual(
          states.map(([name]) => name),
          CHARTS,
        );
        for (const [name, state, drawn, marks] of states) {
          assert.equal(state, 'interactive', name);
          assert.equal(drawn, marks, `${name}: every mark laid out by the browser`);
        }

        // The page as a reader first sees it.
        await fs.mkdir(path.dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
        const png = await sharp(SCREENSHOT).metadata();
        assert.equal(png.width, 1280);
        assert.ok(png.height! > 2000, `the whole page (${png.height} px)`);
        console.log(`    screenshot: ${SCREENSHOT}`);

        // Scatter labels, measured in the browser's own font, clear of each other and of every point.
        const boxes = await inPage<{ tag: string; x0: number; y0: number; x1: number; y1: number }[]>(
          page,
          `[...document.querySelectorAll('${SCATTER} .labels_marks text, ${SCATTER} .points_marks path')].map((e) => {
            const r = e.getBoundingClientRect();
            return { tag: e.tagName, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom };
          })`,
        );
        const texts = boxes.filter((b) => b.tag === 'text');
        assert.equal(texts.length, 2);
        for (const a of texts) {
          for (const b of boxes.filter((other) => other !== a)) {
            const overlaps =
              Math.min(a.x1, b.x1) > Math.max(a.x0, b.x0) && Math.min(a.y1, b.y1) > Math.max(a.y0, b.y0);
            assert.ok(!overlaps, `a label overlaps a ${b.tag}: ${JSON.stringify([a, b])}`);
          }
        }

        // Tooltip: the exact mean and each seed's value.
        await page.locator(`${SCATTER} .points_marks path`).first().hover();
        const tip = page.locator('.vg-tip');
        await tip.waitFor({ state: 'visible' });
        const accuracy = results.rows[0]!.metrics['triplet-accuracy']!.mean.toFixed(4);
        assert.match(
          await tip.innerText(),
          new RegExp(`modulation[\\s\\S]*${accuracy}[\\s\\S]*seed 0: [\\s\\S]*seed 1: `),
        );

        // Legend: picking "separate" fades modulation's point.
        const opacity = `Number(document.querySelector('${SCATTER} .points_marks path').getAttribute('opacity') ?? 1)`;
        assert.equal(await inPage(page, opacity), 1);
        await page.locator(`${SCATTER} .role-legend-symbol path`).nth(1).click({ force: true });
        await page.waitForFunction(`${opacity} < 1`);
        assert.ok((await inPage<number>(page, opacity)) < 0.5);

        // Zoom: the wheel over the scatter narrows its x domain.
        const domain = `mtlzooViews['accuracy-params'].scale('x').domain()`;
        const before = await inPage<number[]>(page, domain);
        const plot = await page.locator(`${SCATTER} .chart svg`).boundingBox();
        await page.mouse.move(plot!.x + plot!.width * 0.35, plot!.y + plot!.height * 0.5);
        await page.mouse.wheel(0, -300);
        await page.waitForFunction(`${domain}[0] !== ${before[0]}`);
        const after = await inPage<number[]>(page, domain);
        assert.ok(after[1]! / after[0]! < before[1]! / before[0]!, `zoomed in: ${before} → ${after}`);

        assert.deepEqual(problems, []);
        assert.deepEqual(requests, []);
      } finally {
        await context.close();
      }
    });

    it('shows every chart drawn with scripts off', async () => {
      const { context, page, requests } = await open(reportFile, { javaScriptEnabled: false });
      try {
        const states = await chartStates(page, true);
        assert.equal(states.length, CHARTS.length);
        for (const [name, state, drawn, marks] of states) {
          assert.equal(state, 'static', name);
          assert.equal(drawn, marks, `${name}: drawn from the static SVG`);
        }
        assert.deepEqual(requests, []);
      } finally {
        await context.close();
      }
    });

    it('shows image panels and image grids of a figure source inline', async () => {
      const png = await sharp({ create: { width: 24, height: 16, channels: 3, background: '#c33' } })
        .png()
        .toBuffer();
      const images: FigureSource = {
        section: 'images',
        build: (data) => [
          {
            kind: 'image',
            name: 'attention-colour',
            alt: 'attention map',
            caption: `<b>${data.tasks[0]}</b>`,
            png,
          },
          {
            kind: 'image-grid',
            name: 'grid',
            caption: 'a grid',
            columns: ['a', 'b'],
            rows: data.tasks.map((task) => ({
              label: task,
              images: [0, 1].map((i) => ({ png, width: 24, height: 16, alt: `${task} ${i}`, note: '1×' })),
            })),
          },
        ],
      };
      const data = await loadReportData(new Kernel({ logger: createMemoryLogger() }), benchDir);
      const sections = buildFigures(
        data,
        [...FIGURES, images],
        [...SECTIONS, { id: 'images', title: 'Images' }],
      );
      const file = path.join(workspace.dir, 'images.html');
      await fs.writeFile(file, renderPage(data, sections, await renderCharts(sections), 'images.charts'));
      const { context, page, problems } = await open(file);
      try {
        await page.waitForFunction(`document.body.dataset.charts === 'ready'`);
        const size = await inPage<number[]>(
          page,
          `(() => { const img = document.querySelector('section#images figure[data-image="attention-colour"] img');
            return [img.naturalWidth, img.naturalHeight]; })()`,
        );
        assert.deepEqual(size, [24, 16]);
        const grid = await inPage<[string, number, number, boolean][]>(
          page,
          `[...document.querySelectorAll('figure[data-image-grid="grid"] tr')].slice(1).map((row) => {
            const imgs = [...row.querySelectorAll('img')];
            return [row.querySelector('th').textContent, imgs.length, imgs.filter((i) => i.complete && i.naturalWidth === 24).length,
              imgs.every((i) => i.getBoundingClientRect().width === 24)];
          })`,
        );
        assert.deepEqual(
          grid,
          data.tasks.map((task) => [task, 2, 2, true]),
          'a labelled row per task, every image decoded and laid out at its size',
        );
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  });
});
