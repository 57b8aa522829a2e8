import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAttributeFile } from '../src/data/celeba.js';
import { writeFileAtomic } from '../src/util/write.js';
import { celebaDataset } from '../plugins/dataset/celeba.js';
import { recordingLogger } from './fixtures/data-log.js';
import {
  attributeFileText,
  CELEBA_ATTRIBUTE_NAMES,
  celebaImages,
  fixtureColour,
  writeCelebaFixture,
} from './fixtures/celeba.js';

const IMAGES = celebaImages(10);

async function fixtureRoot(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-celeba-'));
  await writeCelebaFixture(path.join(dir, 'celeba'), IMAGES);
  return dir;
}

function open(dir: string, options: Record<string, unknown> = {}, size: [number, number] = [8, 8]) {
  const log = recordingLogger();
  const parsed = celebaDataset.options.parse({ root: path.join(dir, 'celeba'), ...options });
  const dataset = celebaDataset.create(parsed, {
    cacheDir: path.join(dir, 'cache'),
    seed: 1,
    imageSize: size,
    log,
  });
  return { dataset: Promise.resolve(dataset), log };
}

async function rejectsWith(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'DATA_INVALID', error.message);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
    return true;
  });
}

describe('data: celeba', () => {
  let dir: string;
  before(async () => {
    dir = await fixtureRoot();
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes the official format: count line, names line with trailing space, 3-character fields', () => {
    const lines = attributeFileText(IMAGES).split('\n');
    assert.equal(lines[0], '10');
    assert.ok(lines[1]!.endsWith('Young '));
    assert.match(lines[2]!, /^000001\.jpg( -1| {2}1){40}$/);
    assert.ok(lines.slice(2).some((l) => l.includes('  1')));
  });

  it('parses attributes, partition and identities into binary tasks on the official splits', async () => {
    const { dataset } = open(dir, { identity: true });
    const ds = await dataset;
    assert.deepEqual(
      ds.tasks.map((t) => t.name),
      [...CELEBA_ATTRIBUTE_NAMES, 'identity'],
    );
    assert.deepEqual([ds.splits.train.size, ds.splits.val.size, ds.splits.test.size], [6, 2, 2]);
    const smiling = CELEBA_ATTRIBUTE_NAMES.indexOf('Smiling');
    const val = ds.splits.val;
    for (let i = 0; i < val.size; i++) {
      const image = IMAGES[6 + i]!;
      assert.ok(val.source(i).endsWith(image.name));
      assert.equal(val.labels[smiling]![i], image.attributes[smiling] === 1 ? 1 : 0);
      assert.equal(ds.tasks[40]!.labelNames[val.labels[40]![i]!], String(image.identity));
    }
    assert.deepEqual(ds.tasks[smiling]!.anchorLabels, [1]);
    assert.equal(val.triplets, undefined);
    // Pixels are decoded JPEG colours, resized to the requested size, in HWC RGB.
    const px = await val.pixels([1, 0]);
    assert.equal(px.length, 2 * 8 * 8 * 3);
    const want = fixtureColour(7);
    assert.ok(
      Math.abs(px[0]! - want.r) < 8 && Math.abs(px[1]! - want.g) < 8 && Math.abs(px[2]! - want.b) < 8,
    );
  });

  it('selects the paper7 preset by name and can anchor on both values', async () => {
    const ds = await open(dir, { attributes: 'paper7', anchor: 'both' }).dataset;
    assert.deepEqual(
      ds.tasks.map((t) => t.name),
      ['Smiling', 'Oval_Face', '5_o_Clock_Shadow', 'Bald', 'Arched_Eyebrows', 'Big_Lips', 'Big_Nose'],
    );
    assert.equal(ds.tasks[0]!.anchorLabels, undefined);
  });

  it('names the attribute not in the file, with a hint', async () => {
    await rejectsWith(
      open(dir, { attributes: ['Smilling'] }).dataset,
      'list_attr_celeba.txt:2',
      '"Smilling"',
      'did you mean "Smiling"',
    );
  });

  it('reports malformed attribute files with file and line', () => {
    const text = attributeFileText(IMAGES.slice(0, 3)).split('\n');
    const file = 'list_attr_celeba.txt';
    const broken = (line: number, content: string) =>
      [...text.slice(0, line - 1), content, ...text.slice(line)].join('\n');
    assert.throws(
      () => parseAttributeFile(broken(4, '000002.jpg -1  1'), file),
      /list_attr_celeba\.txt:4: expected a file name and 40 values/,
    );
    assert.throws(
      () => parseAttributeFile(broken(5, text[4]!.replace(/ -1/, '  0')), file),
      /list_attr_celeba\.txt:5: value "0" for .*expected -1 or 1/,
    );
    assert.throws(
      () => parseAttributeFile(broken(1, '4'), file),
      /list_attr_celeba\.txt:1: the count line says 4 images, but 3 rows follow/,
    );
    assert.throws(
      () => parseAttributeFile(broken(1, 'many'), file),
      /list_attr_celeba\.txt:1: expected the image count/,
    );
    assert.throws(
      () => parseAttributeFile(broken(2, text[2]!), file),
      /list_attr_celeba\.txt:2: expected a line of attribute names/,
    );
  });

  it('reports a malformed partition line and images without a partition', async () => {
    const root = path.join(dir, 'celeba');
    const partFile = path.join(root, 'list_eval_partition.txt');
    const original = await fs.readFile(partFile, 'utf8');
    try {
      await writeFileAtomic(partFile, original.replace('000003.jpg 0', '000003.jpg 5'));
      await rejectsWith(open(dir).dataset, 'list_eval_partition.txt:3', 'expected one of 0, 1, 2');
      await writeFileAtomic(partFile, original.replace('000004.jpg 0\n', ''));
      await rejectsWith(open(dir).dataset, 'list_attr_celeba.txt:6', '000004.jpg has no line in');
    } finally {
      await writeFileAtomic(partFile, original);
    }
  });

  it('reports a missing root, a missing list file and a missing optional identity file when asked for', async () => {
    const log = recordingLogger();
    const missing = path.join(dir, 'nowhere');
    await rejectsWith(
      Promise.resolve(
        celebaDataset.create(celebaDataset.options.parse({ root: missing }), {
          cacheDir: dir,
          seed: 1,
          imageSize: [8, 8],
          log,
        }),
      ),
      missing,
      'CelebA root not found',
    );
    const partial = path.join(dir, 'partial');
    await fs.mkdir(path.join(partial, 'celeba', 'img_align_celeba'), { recursive: true });
    await rejectsWith(open(partial).dataset, 'list_attr_celeba.txt', 'not found');
    await writeFileAtomic(path.join(partial, 'celeba', 'list_attr_celeba.txt'), attributeFileText(IMAGES));
    await writeFileAtomic(path.join(partial, 'celeba', 'list_eval_partition.txt'), '000001.jpg 0\n');
    await rejectsWith(open(partial, { identity: true }).dataset, 'identity_CelebA.txt', 'not found');
  });

  it('names a missing or corrupt image; skip leaves it out and counts it', async () => {
    const bad = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-celeba-bad-'));
    try {
      await writeCelebaFixture(path.join(bad, 'celeba'), IMAGES);
      const images = path.join(bad, 'celeba', 'img_align_celeba');
      await fs.rm(path.join(images, '000003.jpg'));
      await rejectsWith(open(bad).dataset, '000003.jpg', 'image not found');
      const jpeg = await fs.readFile(path.join(images, '000002.jpg'));
      await writeFileAtomic(path.join(images, '000002.jpg'), jpeg.subarray(0, jpeg.length >> 1));
      await rejectsWith(open(bad).dataset, '000002.jpg', 'corrupt image', 'onBadImage: skip');

      const { dataset, log } = open(bad, { onBadImage: 'skip', attributes: ['Smiling'] });
      const train = (await dataset).splits.train;
      assert.equal(train.size, 4);
      assert.ok(
        log.warnings.some((w) => w.includes('skipped 2 bad image(s) of 6')),
        log.warnings.join('\n'),
      );
      const kept = [0, 3, 4, 5].map((i) => IMAGES[i]!);
      const smiling = CELEBA_ATTRIBUTE_NAMES.indexOf('Smiling');
      kept.forEach((image, i) => {
        assert.ok(train.source(i).endsWith(image.name));
        assert.equal(train.labels[0]![i], image.attributes[smiling] === 1 ? 1 : 0);
      });
      // A cache built under skip still names its skipped images, as a warning or (under fail) an error.
      const again = open(bad, { onBadImage: 'skip', attributes: ['Smiling'] });
      await again.dataset;
      assert.ok(again.log.warnings.some((w) => w.includes('skipped 2 bad image(s)')));
      await rejectsWith(open(bad, { attributes: ['Smiling'] }).dataset, '000002.jpg', '000003.jpg');
    } finally {
      await fs.rm(bad, { recursive: true, force: true });
    }
  });

  it('reuses the decoded-image cache without decoding, and rebuilds it when options change', async () => {
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-celeba-cache-'));
    try {
      await writeCelebaFixture(path.join(work, 'celeba'), IMAGES);
      const first = open(work, { attributes: ['Bald'] });
      const firstTrain = (await first.dataset).splits.train;
      const file = (firstTrain as { cacheFile?: string }).cacheFile!;
      assert.ok(file.startsWith(path.join(work, 'cache')));
      assert.ok(first.log.infos.some((m) => m.includes('decoded 6 images')));
      assert.ok(first.log.progress.calls.some((m) => m.includes('decoding images 6/6')));
      const before = (await fs.stat(file)).mtimeMs;
      const pixels = await firstTrain.pixels([0, 1, 2, 3, 4, 5]);

      // Without any source image, a second open can only succeed by reading the cache.
      const imageDir = path.join(work, 'celeba', 'img_align_celeba');
      await fs.rm(imageDir, { recursive: true });
      await fs.mkdir(imageDir);
      const second = open(work, { attributes: ['Bald'] });
      const secondTrain = (await second.dataset).splits.train;
      assert.ok(second.log.infos.some((m) => m.includes('using decoded-image cache')));
      assert.equal(second.log.progress.calls.length, 0);
      assert.equal((await fs.stat(file)).mtimeMs, before);
      assert.deepEqual(await secondTrain.pixels([0, 1, 2, 3, 4, 5]), pixels);

      // A new image size or fit is a new key: the cache is rebuilt, which here needs (and names) the images.
      await rejectsWith(
        open(work, { attributes: ['Bald'] }, [6, 6]).dataset,
        '000001.jpg',
        'image not found',
      );
      await rejectsWith(open(work, { attributes: ['Bald'], fit: 'fill' }).dataset, 'image not found');
      await writeCelebaFixture(path.join(work, 'celeba'), IMAGES);
      const third = open(work, { attributes: ['Bald'] }, [6, 6]);
      const thirdTrain = (await third.dataset).splits.train as { cacheFile?: string };
      assert.notEqual(thirdTrain.cacheFile, file);
      assert.ok(third.log.infos.some((m) => m.includes('decoded 6 images')));
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  });
});
