import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResults } from '../src/bench/bench.js';
import { runCli } from './helpers/cli.js';
import { smallConfig } from './helpers/experiment.js';
import { tempDir, writeFiles } from './helpers/files.js';

const CHROMIUM = '/usr/bin/chromium';
const TASKS = ['colour', 'shape', 'position'];
/** Where the browser test leaves its screenshot for people to look at. */
const SCREENSHOT = path.join(tmpdir(), 'mtlzoo-report-test', 'report.png');

interface Chart {
  readonly kind: string;
  readonly marks: number;
  readonly drawn?: number;
}

/** The charts of a report (or of a DOM the browser dumped), from their root `<svg>` tags. */
function chartsIn(html: string): Chart[] {
  return [...html.matchAll(/<svg\b[^>]*>/g)].map(([open]) => {
    const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(open)?.[1];
    const drawn = attr('data-drawn');
    return {
      kind: attr('data-chart')!,
      marks: Number(attr('data-marks')),
      ...(drawn === undefined ? {} : { drawn: Number(drawn) }),
    };
  });
}

/** Runs headless Chromium on a file with a fresh profile; returns stdout and stderr. */
async function chromium(file: string, ...flags: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'mtlzoo-chromium-'));
  try {
    return await promisify(execFile)(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        // Console messages (and uncaught errors) go to stderr as INFO:CONSOLE lines.
        '--enable-logging=stderr',
        '--v=0',
        ...flags,
        pathToFileURL(file).href,
      ],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
  } finally {
    await fs.rm(profile, { recursive: true, force: true });
  }
}

const consoleLines = (stderr: string) => stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l));

describe('report', function () {
  this.timeout(120_000);
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
seeds: [0]
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

  it("shows the bench's intervals: under each figure, as whiskers on the accuracy points", () => {
    const accuracy = results.rows.find((r) => r.label === 'modulation')!.metrics['triplet-accuracy']!;
    const [low, high] = [accuracy.ci!.low.toFixed(3), accuracy.ci!.high.toFixed(3)];
    assert.ok(accuracy.ci!.low <= accuracy.mean && accuracy.mean <= accuracy.ci!.high);
    assert.ok(html.includes(`<br><small>[${low}, ${high}]`), 'the interval under the comparison figure');
    assert.ok(
      html.includes(`triplet-accuracy ${accuracy.mean.toFixed(3)} [${low}, ${high}]`),
      'on the point',
    );
    assert.match(html, /bootstrap over seeds and test queries/);
  });

  it('is one self-contained file: no external resources, written atomically', async () => {
    assert.doesNotMatch(html, /\b(src|href)=|@import|url\(/);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map(([u]) => u);
    assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'only the SVG namespace');
    assert.deepEqual(await fs.readdir(path.dirname(reportFile)), ['report.html']);
  });

  it('draws every chart: accuracy/parameters, per-task bars, angle curves, cosine and relatedness heat maps', () => {
    const t = TASKS.length;
    // modulation is probed at steps 2 and 4 (two dots and a line); separate has no shared parameters.
    assert.deepEqual(chartsIn(html), [
      { kind: 'scatter', marks: 2 },
      { kind: 'bars', marks: 2 * t },
      { kind: 'lines', marks: 3 },
      { kind: 'heatmap', marks: t * t },
      ...['conv1', 'conv2', 'embedding'].map(() => ({ kind: 'heatmap', marks: t * t })),
    ]);
    assert.match(html, /separate<\/b>: no per-task variables/);
    assert.match(html, /Not probed \(no shared parameters or probe off\): separate/);
  });

  it('reports a single run directory as well', async () => {
    const runDir = results.rows[0]!.runDirs[0]!;
    const out = path.join(workspace.dir, 'run-report.html');
    const report = await runCli('report', runDir, '--out', out);
    assert.equal(report.code, 0, report.log);
    const single = await fs.readFile(out, 'utf8');
    assert.match(single, /mtlzoo report: modulation on shapes/);
    assert.deepEqual(
      chartsIn(single).map((c) => c.kind),
      ['scatter', 'bars', 'lines', 'heatmap', 'heatmap', 'heatmap', 'heatmap'],
    );
    const unfinished = await runCli('report', workspace.dir);
    assert.equal(unfinished.code, 2);
    assert.match(unfinished.log, /is not a run directory/);
  });

  it('names a checkpoint it cannot read (an earlier format) and reports the rest from the records', async () => {
    const runDir = results.rows[0]!.runDirs[0]!;
    const copy = path.join(workspace.dir, 'old-format-run');
    await fs.cp(runDir, copy, { recursive: true });
    const modelJson = path.join(copy, 'checkpoints', 'last', 'model.json');
    const model = JSON.parse(await fs.readFile(modelJson, 'utf8')) as { format: string };
    await fs.writeFile(modelJson, JSON.stringify({ ...model, format: 'mtlzoo-checkpoint/1' }));
    const out = path.join(workspace.dir, 'old-format-report.html');
    const report = await runCli('report', copy, '--out', out);
    assert.equal(report.code, 0, report.log);
    const page = await fs.readFile(out, 'utf8');
    assert.match(page, /modulation<\/b>: checkpoint not readable by this version: .*mtlzoo-checkpoint\/1/);
    assert.deepEqual(
      chartsIn(page).map((c) => c.kind),
      ['scatter', 'bars', 'lines', 'heatmap'],
      'tables and probe charts still drawn; no relatedness maps',
    );
  });

  describe('in headless Chromium', function () {
    before(function () {
      if (!existsSync(CHROMIUM)) {
        console.log(`    skipped: ${CHROMIUM} is absent (apt-get install -y chromium; .ci/run installs it)`);
        this.skip();
      }
    });

    it('sees console messages at all (control page)', async () => {
      const control = path.join(workspace.dir, 'control.html');
      await fs.writeFile(control, `<!doctype html><script>console.error('control message')</script>`);
      const { stderr } = await chromium(control, '--dump-dom');
      assert.ok(
        consoleLines(stderr).some((l) => l.includes('control message')),
        'the console scan would miss errors',
      );
    });

    it('lays out every mark of every chart, logs nothing, and renders a screenshot', async () => {
      const { stdout, stderr } = await chromium(reportFile, '--dump-dom');
      assert.deepEqual(consoleLines(stderr), []);
      const charts = chartsIn(stdout);
      assert.equal(charts.length, 7);
      for (const chart of charts) {
        assert.ok(chart.marks > 0, `${chart.kind} has marks`);
        assert.equal(chart.drawn, chart.marks, `${chart.kind}: drawn by the browser`);
      }

      await fs.mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await fs.rm(SCREENSHOT, { force: true });
      await chromium(reportFile, `--screenshot=${SCREENSHOT}`, '--window-size=1280,2000');
      const png = await fs.readFile(SCREENSHOT);
      assert.equal(png.subarray(1, 4).toString(), 'PNG');
      // IHDR: width and height, big-endian, at bytes 16 and 20.
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1280, 2000]);
      assert.ok(png.length > 50_000, `a mostly blank screenshot (${png.length} bytes)`);
      console.log(`    screenshot: ${SCREENSHOT}`);
    });
  });
});
