import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeAttentionMaps, type AttentionResult } from '../src/analysis/attention.js';
import { trainRun } from '../src/engine/run.js';
import { Kernel } from '../src/kernel/kernel.js';
import { REPORT_ATTENTION } from '../src/report/data.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { runCli } from './helpers/cli.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';
import { copyWithUnknownCheckpointFormat, tempDir } from './helpers/files.js';

const TASKS = ['colour', 'shape', 'position'];
/** The report's maps: 6 test images, 96 px cells. */
const { images: IMAGES, cellSize: CELL } = REPORT_ATTENTION as Required<typeof REPORT_ATTENTION>;

interface GridRow {
  readonly label: string;
  readonly cells: readonly { readonly png: Buffer; readonly alt: string; readonly note?: string }[];
}

/** The attention section of a report page, or undefined. */
const attentionSection = (html: string) => /<section id="attention">([\s\S]*?)<\/section>/.exec(html)?.[1];

/** The rows of an image grid figure: heading and, per cell, the decoded data URI and its alt and note. */
function gridRows(figure: string): GridRow[] {
  return [...figure.matchAll(/<tr><th scope="row">([\s\S]*?)<\/th>([\s\S]*?)<\/tr>/g)].map(
    ([, label, row]) => ({
      label: label!,
      cells: [
        ...row!.matchAll(
          /<td><img src="data:image\/png;base64,([^"]+)" width="\d+" height="\d+" alt="([^"]*)"[^>]*>(?:<small>([^<]*)<\/small>)?<\/td>/g,
        ),
      ].map(([, data, alt, note]) => ({
        png: Buffer.from(data!, 'base64'),
        alt: alt!,
        ...(note !== undefined ? { note } : {}),
      })),
    }),
  );
}

/** Mean absolute difference of two RGB images' bytes. */
async function meanDifference(a: Buffer | string, b: Buffer | string): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((i) => sharp(i).removeAlpha().raw().toBuffer()));
  assert.equal(x!.length, y!.length);
  let sum = 0;
  for (let i = 0; i < x!.length; i++) sum += Math.abs(x![i]! - y![i]!);
  return sum / x!.length;
}

describe('report: where each task looks (attention maps)', function () {
  this.timeout(120_000);
  let workspace: ReturnType<typeof tempDir>;
  let runDir: string;
  let html: string;
  let reportFile: string;

  before(async () => {
    workspace = tempDir();
    const { kernel, loaded } = await loadSmall(
      workspace.dir,
      smallConfig({
        method:
          '{ name: asen, options: { version: 2, spatialWidth: 8, channelWidth: 8, attributeWidth: 8 } }',
        steps: 3,
      }),
    );
    runDir = (await trainRun(kernel, loaded, { outputDir: workspace.dir, name: 'asen-run' })).runDir;
    reportFile = path.join(workspace.dir, 'out', 'report.html');
    const report = await runCli('report', runDir, '--out', reportFile);
    assert.equal(report.code, 0, report.log);
    html = await fs.readFile(reportFile, 'utf8');
  });
  after(() => workspace.cleanup());

  it("shows one map per task and test image, each the CLI's map over its image, with its peak over uniform", async () => {
    const section = attentionSection(html);
    assert.ok(section, 'the report has the attention section');
    assert.match(section, /^<h2>Where each task looks<\/h2>/);
    const figure = /<figure data-image-grid="attention-asen">([\s\S]*?)<\/figure>/.exec(section)?.[1];
    assert.ok(figure, 'a grid for asen');
    const rows = gridRows(figure);
    assert.deepEqual(
      rows.map((r) => r.label.replace(/<br>[\s\S]*/, '')),
      ['image', ...TASKS.map((t) => `<b>${t}</b>`)],
      'the images, then one row per task, named',
    );
    for (const row of rows) assert.equal(row.cells.length, IMAGES, row.label);
    for (const cell of rows.flatMap((r) => r.cells)) {
      const { format, width, height } = await sharp(cell.png).metadata();
      assert.deepEqual([format, width, height], ['png', CELL, CELL], cell.alt);
    }

    // The same maps, written losslessly by `mtlzoo analyze attention` from the same checkpoint.
    const kernel = new Kernel({ logger: createMemoryLogger() });
    const outDir = path.join(workspace.dir, 'cli', 'maps');
    const manifest: AttentionResult = await writeAttentionMaps(kernel, runDir, { outDir, cellSize: CELL });
    assert.deepEqual(manifest.tasks, TASKS);
    const columns = [...figure.matchAll(/<th>test image (\d+)<\/th>/g)].map(([, i]) => Number(i));
    assert.deepEqual(
      columns,
      manifest.images.map((i) => i.index),
    );
    const [h, w] = manifest.grid;
    for (const [t, task] of TASKS.entries()) {
      const overlays = manifest.overlays.filter((o) => o.task === task);
      const peaks = overlays.map((o) => o.peakOverUniform);
      const mean = peaks.reduce((a, b) => a + b, 0) / peaks.length;
      assert.match(rows[t + 1]!.label, new RegExp(`mean ${mean.toFixed(2)}×`));
      for (const [k, o] of overlays.entries()) {
        const cell = rows[t + 1]!.cells[k]!;
        // Independent of the drawing: the largest weight of the raw map times the number of places.
        const peak = Math.max(...o.map.flat()) * h * w;
        assert.match(cell.note ?? '', /^\d+\.\d\d×$/);
        assert.ok(Math.abs(parseFloat(cell.note!) - peak) <= 0.0051, `${o.file}: ${cell.note} for ${peak}`);
        assert.match(cell.alt, new RegExp(`^${task} attention on test image ${o.image}: peak`));
        // The report's palette PNG is the CLI's lossless one up to the palette's rounding, and nearer to it
        // than to any other task's map of that image.
        const differences = await Promise.all(
          TASKS.map((other) => meanDifference(cell.png, path.join(outDir, other, `${o.image}.png`))),
        );
        assert.ok(differences[t]! < 3, `${o.file}: mean |Δ| ${differences[t]!.toFixed(2)} per byte`);
        assert.equal(differences.indexOf(Math.min(...differences)), t, `${o.file}: ${differences.join(' ')}`);
      }
    }
    for (const [k, cell] of rows[0]!.cells.entries()) {
      assert.equal(cell.alt, `test image ${manifest.images[k]!.index}`);
    }

    assert.match(
      figure,
      /dark blue, no weight, to yellow, the map's peak/,
      'the caption says what colours mean',
    );
    assert.match(figure, new RegExp(`uniform weight 1/${h * w} `));
    assert.ok(!html.includes(workspace.dir), 'no absolute path of this machine');
    // Small enough to inline: the whole section, PNGs as base64.
    assert.ok(Buffer.byteLength(section) < 150_000, `${Buffer.byteLength(section)} bytes`);
  });

  it('names a checkpoint it cannot read in the section, in one line', async () => {
    const copy = path.join(workspace.dir, 'old-format-run');
    await copyWithUnknownCheckpointFormat(runDir, copy);
    const out = path.join(workspace.dir, 'old-format.html');
    assert.equal((await runCli('report', copy, '--out', out)).code, 0);
    const section = attentionSection(await fs.readFile(out, 'utf8'));
    assert.ok(section);
    assert.doesNotMatch(section, /<figure/);
    assert.match(
      section,
      /<p class="note"><b>asen<\/b>: checkpoint not readable by this version: [^<]*mtlzoo-checkpoint\/0[^<]*<\/p>/,
    );
  });
});
