import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BenchResults } from '../src/bench/results.js';
import { accuracyFigures } from '../src/report/charts/accuracy.js';
import { gradientFigures } from '../src/report/charts/gradients.js';
import { relatednessFigures } from '../src/report/charts/relatedness.js';
import { boxesOverlap, placeLabels, type Box } from '../src/report/charts/labels.js';
import { intervalOf, type Row } from '../src/report/charts/spec.js';
import { loadReportData, type ReportData, type ReportMethod } from '../src/report/data.js';
import type { ChartFigure, FigureSource } from '../src/report/figure.js';
import { FIGURES, SECTIONS, buildFigures } from '../src/report/figures.js';
import { renderChart } from '../src/report/render.js';
import { Kernel } from '../src/kernel/kernel.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { tempDir, writeFiles } from './helpers/files.js';

const QUICKSTART = path.join(import.meta.dirname, '..', 'zoo', 'quickstart', 'results.json');

/**
 * The recorded quickstart entry as the repository holds it: results.json without its run folders. The
 * recorded paths are moved into a temporary folder that holds nothing, so the test does not depend on
 * whether this machine still has the recording's runs where they were written.
 */
async function recordedQuickstart(): Promise<ReportData> {
  const workspace = tempDir();
  try {
    const results = JSON.parse(await fs.readFile(QUICKSTART, 'utf8')) as BenchResults;
    const elsewhere = (dir: string) => path.join(workspace.dir, 'gone', ...dir.split(/[\\/]/).slice(-2));
    const relocated = {
      ...results,
      rows: results.rows.map((r) => ({ ...r, runDirs: r.runDirs.map(elsewhere) })),
    };
    const bench = path.join(workspace.dir, 'quickstart');
    writeFiles(bench, { 'results.json': JSON.stringify(relocated) });
    return await loadReportData(new Kernel({ logger: createMemoryLogger() }), bench);
  } finally {
    workspace.cleanup();
  }
}

interface SceneItem {
  readonly bounds: { x1: number; y1: number; x2: number; y2: number };
  readonly text?: string;
  readonly items?: SceneMark[];
}
interface SceneMark {
  readonly name?: string;
  readonly marktype: string;
  readonly items: SceneItem[];
}

/** Items of the marks named `<name>_marks` in a view's scenegraph, in scene coordinates of their group. */
function itemsOf(root: SceneMark, name: string): SceneItem[] {
  const found: SceneItem[] = [];
  const visit = (mark: SceneMark) => {
    if (mark.name?.endsWith(`${name}_marks`)) found.push(...mark.items);
    for (const item of mark.items) for (const child of item.items ?? []) visit(child);
  };
  visit(root);
  return found;
}

const box = ({ bounds: b }: SceneItem): Box => ({ x0: b.x1, y0: b.y1, x1: b.x2, y1: b.y2 });

/** Renders a chart spec with Vega-Lite and Vega directly, and returns its scenegraph. */
async function scene(figure: ChartFigure): Promise<SceneMark> {
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const view = new vega.View(vega.parse(compile(figure.spec).spec), { renderer: 'none' });
  await view.runAsync();
  const root = (view.scenegraph() as unknown as { root: SceneMark }).root;
  view.finalize();
  return root;
}

function spread(mean: number, std = 0, n = 2) {
  return { n, mean, std, min: mean - std, max: mean + std };
}

/** A bench of methods at the given (parameters, accuracy), without run folders. */
function benchOf(points: readonly (readonly [string, number, number])[]): ReportData {
  const methods: ReportMethod[] = points.map(([label, params, accuracy]) => ({
    label,
    method: label,
    metrics: { 'triplet-accuracy': spread(accuracy, 0.004) },
    perTask: { 'triplet-accuracy': { a: spread(accuracy, 0.01), b: spread(accuracy) } },
    params: {
      sharedParams: params,
      paramsPerTask: 0,
      totalParams: params,
      bytes: params * 4,
      galleryPasses: 1,
    },
    msPerStep: spread(20),
    runs: [],
    angle: [],
  }));
  return {
    title: 'crowded',
    source: 'bench',
    folder: 'crowded',
    date: '2026-01-01T00:00:00.000Z',
    dataset: 'shapes',
    backbone: 'tiny',
    tasks: ['a', 'b'],
    steps: 10,
    seeds: [0, 1],
    metrics: ['triplet-accuracy'],
    environment: {
      mtlzoo: '0',
      commit: null,
      node: 'v20',
      tfjs: '4',
      backend: 'cpu',
      tfBackend: 'cpu',
      platform: 'linux',
      cpu: 'x',
      cores: 2,
      memoryGiB: 1,
      gpu: null,
      adapter: null,
      nativePack: false,
      threads: null,
    },
    methods,
    missingRuns: [],
    unreadableRuns: [],
  };
}

/** No label box overlaps another label or any point symbol, in Vega's own layout. */
async function assertLabelsClear(data: ReportData): Promise<void> {
  const figure = accuracyFigures.build(data).find((f) => f.kind === 'chart' && f.name === 'accuracy-params');
  assert.ok(figure && figure.kind === 'chart');
  const root = await scene(figure);
  const labels = itemsOf(root, 'labels');
  const points = itemsOf(root, 'points');
  assert.equal(labels.length, data.methods.length);
  assert.equal(points.length, data.methods.length);
  labels.forEach((label, i) => {
    for (const other of labels.slice(i + 1)) {
      assert.ok(!boxesOverlap(box(label), box(other)), `labels "${label.text}" and "${other.text}" overlap`);
    }
    for (const point of points) {
      assert.ok(
        !boxesOverlap(box(label), box(point)),
        `label "${label.text}" ${JSON.stringify(label.bounds)} covers a point ${JSON.stringify(point.bounds)}`,
      );
    }
  });
}

describe('report charts', function () {
  this.timeout(60_000);

  it('labels the recorded quickstart scatter without overlaps (csn/modulation, separate/cross-stitch)', async () => {
    const data = await recordedQuickstart();
    assert.deepEqual(
      data.methods.map((m) => m.label),
      ['modulation', 'modulation-matrix', 'shared', 'separate', 'cross-stitch', 'csn'],
    );
    await assertLabelsClear(data);
  });

  it('labels a crowded scatter without overlaps', async () => {
    // Eight methods, two tight clusters: nearly equal parameters and accuracies.
    await assertLabelsClear(
      benchOf([
        ['alpha', 22_500, 0.955],
        ['beta-long-name', 22_632, 0.959],
        ['gamma', 22_824, 0.956],
        ['delta', 22_600, 0.951],
        ['epsilon', 90_016, 0.984],
        ['zeta-variant', 90_912, 0.98],
        ['eta', 89_000, 0.982],
        ['theta', 31_720, 0.969],
      ]),
    );
  });

  it('places labels in pixels beside their points, inside the plot', () => {
    const anchors = [
      { x: 100, y: 100, text: 'one', radius: 5 },
      { x: 104, y: 102, text: 'two', radius: 5 },
      { x: 395, y: 5, text: 'corner', radius: 5 },
    ];
    const placed = placeLabels(anchors, { width: 400, height: 300, fontSize: 11 });
    assert.deepEqual(
      placeLabels(anchors, { width: 400, height: 300, fontSize: 11 }),
      placed,
      'deterministic',
    );
    assert.ok(!boxesOverlap(placed[0]!.box, placed[1]!.box));
    const corner = placed[2]!;
    assert.ok(corner.box.x0 >= 0 && corner.box.x1 <= 400 && corner.box.y0 >= 0 && corner.box.y1 <= 300);
    // Attached by the near edge: a label right of its point starts just beyond the symbol.
    for (const [i, label] of placed.entries()) {
      const a = anchors[i]!;
      assert.ok(
        Math.hypot(label.x - a.x, label.y - a.y) <= a.radius + 40,
        `label ${a.text} is near its point`,
      );
    }
  });

  it("draws the bench's 95 % intervals where a cell has one, else ± 1 std over several seeds", async () => {
    assert.deepEqual(intervalOf({ n: 3, mean: 0.5, std: 0.1, min: 0.4, max: 0.6 }), { lo: 0.4, hi: 0.6 });
    assert.deepEqual(
      intervalOf({ n: 3, mean: 0.5, std: 0.1, min: 0, max: 1, ci: { low: 0.45, high: 0.52 } }),
      { lo: 0.45, hi: 0.52 },
    );
    assert.deepEqual(
      intervalOf({ n: 3, mean: 0.5, std: 0.1, min: 0, max: 1, ci: { low: NaN, high: NaN } }),
      { lo: 0.4, hi: 0.6 },
      'an interval never measured (null in results.json)',
    );
    assert.deepEqual(intervalOf({ n: 1, mean: 0.5, std: 0, min: 0.5, max: 0.5 }), {});
    const data = benchOf([
      ['one', 1000, 0.8],
      ['two', 2000, 0.9],
    ]);
    const withCi = {
      ...data,
      methods: data.methods.map((m) => ({
        ...m,
        metrics: {
          'triplet-accuracy': { ...m.metrics['triplet-accuracy']!, ci: { low: 0.7, high: 0.95 } },
        },
      })),
    };
    const [scatter] = accuracyFigures.build(withCi) as ChartFigure[];
    const rows = (scatter!.spec as { layer: { name?: string; data: { values: Row[] } }[] }).layer.find(
      (l) => l.name === 'points',
    )!.data.values;
    assert.deepEqual(
      rows.map((r) => [r.lo, r.hi]),
      [
        [0.7, 0.95],
        [0.7, 0.95],
      ],
    );
    assert.match(scatter!.caption, /95 % interval/);
    const root = await scene(scatter!);
    assert.equal(itemsOf(root, 'intervals').length, 2, 'one error bar per method');
  });

  it('renders every built-in chart in Node without warnings', async () => {
    const data = await recordedQuickstart();
    const charts = buildFigures(data).flatMap((s) => s.figures.filter((f) => f.kind === 'chart'));
    assert.deepEqual(
      charts.map((c) => c.name),
      ['accuracy-params', 'accuracy-per-task', 'gradient-angle'],
      'the run folders of the recorded entry are not in the repository: the angle curve comes from its statistics',
    );
    for (const chart of charts) {
      const rendered = await renderChart(chart.spec);
      assert.deepEqual(rendered.warnings, [], chart.name);
      assert.ok(rendered.marks > 0);
      assert.match(rendered.svg, /^<svg[^>]*class="marks"/);
      // The method legend is bound to the selection: its entries take clicks.
      const legends = (rendered.vega as { legends?: { encode?: { symbols?: { interactive?: boolean } } }[] })
        .legends;
      assert.equal(legends?.length, 1, chart.name);
      assert.equal(legends[0]!.encode?.symbols?.interactive, true, `${chart.name}: legend filters`);
    }
  });

  it('draws every cell of a heat map, grey and n/a where a cosine is undefined', async () => {
    const data = benchOf([['one', 1000, 0.8]]);
    const probed = {
      ...data,
      methods: data.methods.map((m) => ({
        ...m,
        angle: [{ step: 10, degrees: 80, seeds: [{ seed: 0, degrees: 80 }] }],
        cosine: {
          step: 10,
          matrix: [
            [1, NaN],
            [NaN, NaN],
          ],
        },
      })),
    };
    const cosine = gradientFigures
      .build(probed)
      .find((f) => f.kind === 'chart' && f.name === 'gradient-cosine');
    assert.ok(cosine && cosine.kind === 'chart');
    const root = await scene(cosine);
    assert.equal(itemsOf(root, 'cells').length, 4);
    assert.deepEqual(
      itemsOf(root, 'values').map((v) => v.text),
      ['1.00', 'n/a', 'n/a', 'n/a'],
    );
    const fills = itemsOf(root, 'cells').map((c) => (c as unknown as { fill: string }).fill);
    assert.deepEqual(fills.slice(1), ['#bbbbbb', '#bbbbbb', '#bbbbbb']);
    assert.notEqual(fills[0], '#bbbbbb');
  });

  it('draws each stage of a relatedness chart from its own matrix', async () => {
    const data = benchOf([['one', 1000, 0.8]]);
    const stage = (name: string, off: number) => ({
      stage: name,
      shape: [4],
      rectified: true,
      matrix: [
        [1, off],
        [off, 1],
      ],
    });
    const related = {
      ...data,
      methods: data.methods.map((m) => ({
        ...m,
        runs: [{ dir: 'one/seed-0', seed: 0, configHash: 'h', weightsSha256: 'w', here: true }],
        relatedness: {
          runDir: '/elsewhere/one/seed-0',
          checkpoint: '/elsewhere/one/seed-0/checkpoints/best',
          step: 5,
          method: 'one',
          tasks: ['a', 'b'],
          factors: [['x'], ['y']],
          stages: [
            stage('m/conv1', 0.5),
            {
              ...stage('m/conv2', 0.25),
              change: {
                norms: [0.5, 1.5],
                matrix: [
                  [1, -0.4],
                  [-0.4, 1],
                ],
              },
            },
          ],
        },
      })),
    };
    const [figure] = relatednessFigures.build(related);
    assert.ok(figure && figure.kind === 'chart');
    assert.equal(figure.name, 'relatedness-one');
    assert.match(figure.caption, /best checkpoint, step 5/);
    assert.ok(!figure.caption.includes('/elsewhere'), 'no absolute path');
    // Only the stage whose moves are known is described, by their mean length and mean pair cosine.
    assert.match(figure.caption, /initial values .*: m\/conv2 1\.000 \(cosine -0\.400\)\./);
    assert.ok(!/m\/conv1 \d/.test(figure.caption));
    const root = await scene(figure);
    assert.deepEqual(
      itemsOf(root, 'stage0_values').map((v) => v.text),
      ['1.0000', '0.5000', '0.5000', '1.0000'],
    );
    assert.deepEqual(
      itemsOf(root, 'stage1_values').map((v) => v.text),
      ['1.0000', '0.2500', '0.2500', '1.0000'],
    );
  });

  it('gives each figure a unique file name and refuses a source for an unknown section', () => {
    const data = benchOf([['one', 1000, 0.8]]);
    const twice: FigureSource = {
      section: 'accuracy',
      build: () => [
        { kind: 'note', html: 'a note' },
        ...(accuracyFigures.build(data) as ChartFigure[]).map((f) => ({ ...f, name: 'same' })),
      ],
    };
    const names = buildFigures(data, [twice])
      .flatMap((s) => s.figures)
      .flatMap((f) => (f.kind === 'note' ? [] : [f.name]));
    assert.deepEqual(names, ['same', 'same-2']);
    assert.throws(
      () => buildFigures(data, [...FIGURES, { section: 'nowhere', build: () => [] }], SECTIONS),
      /unknown report section "nowhere"/,
    );
  });
});
