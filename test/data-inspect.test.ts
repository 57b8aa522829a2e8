import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { formatDatasetReport, inspectDataset, writePreview } from '../src/data/index.js';
import { createShapesDataset } from '../src/data/shapes.js';
import { makeSplit } from '../src/data/split.js';
import { MemoryImageStore } from '../src/data/store.js';
import type { Dataset } from '../src/kinds/dataset.js';

/** A two-image dataset with a fixed triplet list and a named cache file, built from the split helpers. */
function tinyDataset(): Dataset {
  const split = {
    ...makeSplit(
      {
        labels: [Int32Array.from([0, 1, -1])],
        triplets: [Int32Array.from([0, 1, 2, 1, 0, 2])],
        sources: ['a', 'b', 'c'],
      },
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
      labels: [
        { label: 'x', count: 1 },
        { label: 'y', count: 1 },
      ],
      triplets: 2,
    });
    const text = formatDatasetReport(report);
    assert.match(text, /train: 3 images, cache \/cache\/tiny-train\.u8/);
    assert.match(text, /kind: 2 labelled, 1 unlabelled, 2 fixed triplets/);
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
    assert.match(shapesText, /train: 50 images, cache \(in memory\)/);
    assert.match(
      shapesText,
      /shape-colour: same shape class and colour \(factors: shape, colour; 48 labels\)/,
    );
    assert.match(shapesText, /48 labels \(\d+ without images\); largest/);
    assert.match(shapesText, /triplets drawn from labels/);
  });

  it('writes a contact sheet PNG of samples with their labels, atomically', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-preview-'));
    try {
      const ds = createShapesDataset(
        { counts: { train: 20, val: 0, test: 0 }, tasks: ['shape', 'colour'] },
        1,
        [16, 16],
      );
      const out = path.join(dir, 'grid.png');
      const shown = await writePreview(ds, out, { count: 10, columns: 5, cellWidth: 48 });
      assert.equal(shown.length, 10);
      const meta = await sharp(out).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, 5 * (48 + 4) + 4);
      assert.equal(meta.height, 2 * (48 + 2 * 12 + 4 + 4) + 4);
      assert.deepEqual(await fs.readdir(dir), ['grid.png']);
      // The caption area under the first image holds dark text pixels.
      const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
      let dark = 0;
      for (let y = 4 + 48 + 2; y < 4 + 48 + 2 + 24; y++) {
        for (let x = 4; x < 52; x++) if (data[(y * info.width + x) * info.channels]! < 100) dark++;
      }
      assert.ok(dark > 20, `only ${dark} dark caption pixels`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
