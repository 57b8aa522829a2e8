import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { formatDatasetReport, inspectDataset, writePreview } from '../src/data/index.js';
import { createShapesDataset } from '../src/data/shapes.js';
import { describeSplit, makeSplit } from '../src/data/split.js';
import { MemoryImageStore } from '../src/data/store.js';
import type { Dataset } from '../src/kinds/dataset.js';

/** A two-image dataset with a fixed triplet list and a named cache file, built from the split helpers. */
function tinyDataset(): Dataset {
  const split = {
    ...makeSplit(
      describeSplit({
        labels: [Int32Array.from([0, 1, -1])],
        triplets: [Int32Array.from([0, 1, 2, 1, 0, 2])],
        sources: ['a', 'b', 'c'],
      }),
      new MemoryImageStore(new Uint8Array(3 * 4 * 4 * 3), 4 * 4 * 3),
    ),
    cacheFile: '/cache/tiny-train.u8',
  };
  return {
    name: 'tiny',
    tasks: [{ name: 'kind', description: 'same kind', factors: ['kind'], labelNames: ['x', 'y'] }],
    imageShape: [4, 4, 3],
    splits: { train: split, val: split, test: split },
  };
}

describe('data: inspect and preview', () => {
  it('reports per split and task the counts, label balance, triplets and cache location', () => {
    const report = inspectDataset(tinyDataset());
    const train = report.splits[0]!;
    assert.equal(train.cacheFile, '/cache/tiny-train.u8');
    assert.deepEqual(train.tasks[0], {
      task: 'kind',
      labelled: 2,
      unlabelled: 1,
      distinctLabels: 2,
      labels: [
        { label: 'x', count: 1 },
        { label: 'y', count: 1 },
      ],
      triplets: 2,
    });
    const text = formatDatasetReport(report);
    assert.match(text, /train: 3 images, cache \/cache\/tiny-train\.u8/);
    assert.match(text, /kind: 2 labelled, 1 unlabelled, 2 distinct labels, 2 fixed triplets/);
    assert.deepEqual(report.problems, []);
    assert.match(text, /problems: none/);
    assert.match(text, /x 1 \(50\.0%\), y 1 \(50\.0%\)/);

    const shapes = inspectDataset(
      createShapesDataset(
        { counts: { train: 50, val: 5, test: 5 }, tasks: ['shape-colour', 'size'] },
        1,
        [8, 8],
      ),
    );
    const sizes = shapes.splits[0]!.tasks[1]!;
    assert.equal(
      sizes.labels.reduce((s, l) => s + l.count, 0),
      50,
    );
    assert.equal(sizes.triplets, undefined);
    const shapesText = formatDatasetReport(shapes);
    assert.match(shapesText, /train: 50 images from counts\.train, cache \(in memory\)/);
    // 5 images cannot share one of 48 labels: the report says which splits and task cannot draw triplets.
    assert.deepEqual(shapes.problems, [
      'shapes val split (counts.val): task "shape-colour" has no label on two images; triplets need an anchor and a positive with one label',
      'shapes test split (counts.test): task "shape-colour" has no label on two images; triplets need an anchor and a positive with one label',
    ]);
    assert.match(
      shapesText,
      /shape-colour: same shape class and colour \(factors: shape, colour; 48 labels\)/,
    );
    assert.match(shapesText, /48 labels \(\d+ without images\); largest/);
    assert.match(shapesText, /triplets drawn from labels/);
  });

  it('writes a contact sheet PNG of samples with their labels, atomically; long captions are not clipped', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-preview-'));
    try {
      const shapes = createShapesDataset(
        { counts: { train: 20, val: 0, test: 0 }, tasks: ['shape', 'colour'] },
        1,
        [16, 16],
      );
      const long = 'Wearing_Necklace_And_Something_Much_Longer';
      const ds: Dataset = {
        ...shapes,
        tasks: [{ ...shapes.tasks[0]!, name: long }, shapes.tasks[1]!],
      };
      const out = path.join(dir, 'grid.png');
      const shown = await writePreview(ds, out, { count: 10, columns: 5, cellWidth: 48 });
      assert.equal(shown.length, 10);
      const meta = await sharp(out).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.height, 2 * (48 + 2 * 12 + 4 + 4) + 4);
      assert.deepEqual(await fs.readdir(dir), ['grid.png']);

      // The first caption line, as drawn alone on a wide canvas (the reference), and as on the sheet.
      const label = shapes.tasks[0]!.labelNames[shapes.splits.train.labels[0]![shown[0]!]!]!;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="12"><g font-family="sans-serif" font-size="10" fill="#000"><text x="1" y="10">${long}: ${label}</text></g></svg>`;
      const reference = await sharp(Buffer.from(svg))
        .flatten({ background: '#fff' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const darkColumns = (
        data: Buffer,
        width: number,
        channels: number,
        y0: number,
        y1: number,
        x0: number,
        x1: number,
      ) => {
        const xs: number[] = [];
        for (let x = x0; x < x1; x++) {
          for (let y = y0; y < y1; y++)
            if (data[(y * width + x) * channels]! < 128) {
              xs.push(x - x0);
              break;
            }
        }
        return xs;
      };
      const ref = darkColumns(reference.data, reference.info.width, reference.info.channels, 0, 12, 0, 600);
      const sheet = await sharp(out).raw().toBuffer({ resolveWithObject: true });
      const columnWidth = (meta.width! - 4) / 5 - 4;
      assert.ok(columnWidth > 48 && columnWidth >= ref.at(-1)!, `column ${columnWidth}, text ${ref.at(-1)}`);
      const top = 4 + 48 + 2;
      const drawn = darkColumns(
        sheet.data,
        sheet.info.width,
        sheet.info.channels,
        top,
        top + 12,
        4,
        4 + columnWidth,
      );
      // Equal up to anti-aliasing: the text starts and ends where the reference does.
      assert.ok(
        Math.abs(drawn[0]! - ref[0]!) <= 1 && Math.abs(drawn.at(-1)! - ref.at(-1)!) <= 1,
        `${drawn.at(-1)} vs ${ref.at(-1)}`,
      );
      assert.ok(Math.abs(drawn.length - ref.length) <= 3);
      assert.ok(ref.at(-1)! > 2 * 48, `the reference text is only ${ref.at(-1)} px wide`);

      await assert.rejects(writePreview(shapes, out, { split: 'val' }), /shapes val split has no images/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
