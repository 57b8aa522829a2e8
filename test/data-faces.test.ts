import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FACE_TASK_NAMES, generateFace } from '../src/data/faces.js';
import { Rng } from '../src/util/random.js';
import { facesDataset } from '../plugins/dataset/faces.js';
import { recordingLogger } from './fixtures/data-log.js';

describe('data: faces', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-faces-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('draws the same face from the same seed and leaves Math.random alone', () => {
    const random = Math.random;
    assert.deepEqual(generateFace(new Rng(5)), generateFace(new Rng(5)));
    assert.notDeepEqual(generateFace(new Rng(5)).face, generateFace(new Rng(6)).face);
    assert.equal(Math.random, random);
  });

  it('derives labels from the generated face, with balanced attributes', () => {
    const n = 400;
    const yes = { glasses: 0, headwear: 0, facialHair: 0, female: 0 };
    for (let i = 0; i < n; i++) {
      const { face, attributes: a } = generateFace(Rng.derive(1, `face ${i}`));
      assert.equal(a.glasses, face.glasses.id === 'none' ? 0 : 1);
      assert.equal(a.headwear, face.accessories.id === 'none' ? 0 : 1);
      assert.equal(a.facialHair, face.facialHair.id === 'none' ? 0 : 1);
      if (a.gender === 1) assert.equal(a.facialHair, 0, 'only male faces get facial hair');
      assert.equal(a.hairColour === -1, ['bald', 'short-bald'].includes(face.hair.id));
      yes.glasses += a.glasses;
      yes.headwear += a.headwear;
      yes.facialHair += a.facialHair;
      yes.female += a.gender;
    }
    for (const key of ['glasses', 'headwear', 'female'] as const) {
      assert.ok(yes[key] / n > 0.4 && yes[key] / n < 0.6, `${key}: ${yes[key]} of ${n}`);
    }
    assert.ok(
      yes.facialHair / n > 0.17 && yes.facialHair / n < 0.33,
      `facial hair: ${yes.facialHair} of ${n}`,
    );
  });

  it('rasterises faces once into the cache and reuses it', async () => {
    const options = facesDataset.options.parse({ counts: { train: 12, val: 2, test: 2 }, seed: 2 });
    assert.deepEqual(options.tasks, FACE_TASK_NAMES);
    const context = (log: ReturnType<typeof recordingLogger>) => ({
      cacheDir: dir,
      seed: 1,
      imageSize: [32, 32] as [number, number],
      log,
    });
    const log = recordingLogger();
    const started = performance.now();
    const ds = await facesDataset.create(options, context(log));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `      faces: ${Math.round(16 / seconds)} faces/s at 32×32 (generate, SVG, rasterise, cache)`,
    );
    assert.equal(log.infos.filter((m) => /decoded \d+ images/.test(m)).length, 3);
    const px = await ds.splits.train.pixels([0, 1]);
    assert.equal(px.length, 2 * 32 * 32 * 3);
    assert.ok(new Set(px.subarray(0, 32 * 32 * 3)).size > 10, 'a face, not a blank image');
    assert.notDeepEqual(px.subarray(0, 3072), px.subarray(3072));

    const again = recordingLogger();
    const ds2 = await facesDataset.create(options, context(again));
    assert.equal(again.infos.filter((m) => m.includes('using decoded-image cache')).length, 3);
    assert.equal(again.progress.calls.length, 0);
    assert.deepEqual(await ds2.splits.train.pixels([0, 1]), px);
    assert.deepEqual(ds2.splits.train.labels, ds.splits.train.labels);
  });
});
