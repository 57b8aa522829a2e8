import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CELEBA_ATTRIBUTES, parseAttributeFile } from '../src/data/celeba.js';
import { writeFileAtomic } from '../src/util/write.js';
import { celebaDataset } from '../plugins/dataset/celeba.js';
import { assertNothingDecoded, recordingLogger } from './fixtures/data-log.js';
import {
  attributeFileText,
  CELEBA_ATTRIBUTE_NAMES,
  celebaImages,
  fixtureColour,
  writeCelebaFixture,
  writeCelebaKaggleFixture,
  writeJpeg,
} from './fixtures/celeba.js';

/** 24 train, 8 val and 8 test images: every split can draw triplets for every attribute. */
const IMAGES = celebaImages(40);

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
    assert.equal(lines[0], '40');
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
    assert.deepEqual([ds.splits.train.size, ds.splits.val.size, ds.splits.test.size], [24, 8, 8]);
    const smiling = CELEBA_ATTRIBUTE_NAMES.indexOf('Smiling');
    const val = ds.splits.val;
    for (let i = 0; i < val.size; i++) {
      const image = IMAGES[24 + i]!;
      assert.ok(val.source(i).endsWith(image.name));
      assert.equal(val.labels[smiling]![i], image.attributes[smiling] === 1 ? 1 : 0);
      assert.equal(ds.tasks[40]!.labelNames[val.labels[40]![i]!], String(image.identity));
    }
    assert.deepEqual(ds.tasks[smiling]!.anchorLabels, [1]);
    assert.equal(val.triplets, undefined);
    // Pixels are decoded JPEG colours, resized to the requested size, in HWC RGB.
    const px = await val.pixels([1, 0]);
    assert.equal(px.length, 2 * 8 * 8 * 3);
    const want = fixtureColour(25);
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
    // Neither layout's attribute list: the message names both layouts.
    await rejectsWith(
      open(partial).dataset,
      'no CelebA attribute list',
      'official layout (list_attr_celeba.txt, list_eval_partition.txt, img_align_celeba/)',
      'Kaggle layout (list_attr_celeba.csv, list_eval_partition.csv, img_align_celeba/img_align_celeba/)',
    );
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
      assert.equal(train.size, 22);
      assert.ok(
        log.warnings.some((w) => w.includes('skipped 2 bad image(s) of 24')),
        log.warnings.join('\n'),
      );
      const kept = IMAGES.slice(0, 24).filter((_, i) => i !== 1 && i !== 2);
      const smiling = CELEBA_ATTRIBUTE_NAMES.indexOf('Smiling');
      kept.forEach((image, i) => {
        assert.ok(train.source(i).endsWith(image.name));
        assert.equal(train.labels[0]![i], image.attributes[smiling] === 1 ? 1 : 0);
      });
      // A cache built under skip still names its skipped images, as a warning or (under fail) an error.
      const again = open(bad, { onBadImage: 'skip', attributes: ['Smiling'] });
      await again.dataset;
      assert.ok(again.log.warnings.some((w) => w.includes('skipped 2 bad image(s)')));
      assert.ok(again.log.warnings.some((w) => w.includes(path.join(images, '000002.jpg'))));
      await rejectsWith(
        open(bad, { attributes: ['Smiling'] }).dataset,
        '000002.jpg',
        '000003.jpg',
        'fix, replace',
      );

      // Repaired images change the cache key: the next open decodes them and skips nothing.
      await writeJpeg(path.join(images, '000002.jpg'), 18, 22, 1);
      await writeJpeg(path.join(images, '000003.jpg'), 18, 22, 2);
      const repaired = open(bad, { onBadImage: 'skip', attributes: ['Smiling'] });
      const fixedTrain = (await repaired.dataset).splits.train;
      assert.equal(fixedTrain.size, 24);
      assert.deepEqual(repaired.log.warnings, []);
      assert.ok(repaired.log.infos.some((m) => m.includes('decoded 24 images')));
      const px = await fixedTrain.pixels([1]);
      assert.ok(Math.abs(px[0]! - fixtureColour(1).r) < 8 && Math.abs(px[2]! - fixtureColour(1).b) < 8);
    } finally {
      await fs.rm(bad, { recursive: true, force: true });
    }
  });

  it('refuses an attribute named twice in the header, and an attribute requested twice', () => {
    const lines = attributeFileText(IMAGES.slice(0, 2)).split('\n');
    lines[1] = lines[1]!.replace('Young', 'Smiling');
    assert.throws(
      () => parseAttributeFile(lines.join('\n'), 'list_attr_celeba.txt'),
      /list_attr_celeba\.txt:2: attribute "Smiling" is named twice \(attributes 32 and 40\)/,
    );
    const parsed = celebaDataset.options.safeParse({
      root: '/data',
      attributes: ['Smiling', 'Bald', 'Smiling'],
    });
    assert.equal(parsed.success, false);
    assert.match(parsed.error!.issues[0]!.message, /attribute "Smiling" is listed twice/);
  });

  it('refuses partition lines for images the attribute list lacks', async () => {
    const root = path.join(dir, 'celeba');
    const partFile = path.join(root, 'list_eval_partition.txt');
    const original = await fs.readFile(partFile, 'utf8');
    try {
      await writeFileAtomic(partFile, `${original}000041.jpg 2\n000042.jpg 2\n`);
      await rejectsWith(
        open(dir).dataset,
        'list_eval_partition.txt:41',
        '000041.jpg is not in',
        'list_attr_celeba.txt',
        '1 more',
      );
    } finally {
      await writeFileAtomic(partFile, original);
    }
  });

  it('reports an empty split, and a split where a task has one label, before decoding anything', async () => {
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-celeba-split-'));
    try {
      // No image in partition 2: the test split is empty.
      await writeCelebaFixture(
        path.join(work, 'celeba'),
        IMAGES.map((img) => ({ ...img, split: img.split === 2 ? 1 : img.split })),
      );
      const empty = open(work, { attributes: ['Smiling'] });
      await rejectsWith(
        empty.dataset,
        'celeba test split',
        'list_eval_partition.txt, partition 2',
        'no images',
      );
      await assertNothingDecoded(empty.log, path.join(work, 'cache'));

      // Bald only "no" in the test split (and one "yes" in val, no positive pair): both named, nothing decoded.
      const bald = CELEBA_ATTRIBUTE_NAMES.indexOf('Bald');
      const setBald = (img: (typeof IMAGES)[number], i: number) => {
        const attributes = [...img.attributes];
        if (img.split > 0) attributes[bald] = i === 24 ? 1 : -1;
        return { ...img, attributes };
      };
      await writeCelebaFixture(path.join(work, 'celeba'), IMAGES.map(setBald));
      const single = open(work, { attributes: ['Smiling', 'Bald'] });
      await rejectsWith(
        single.dataset,
        'celeba test split (',
        'task "Bald" has only label no: 8 image(s)',
        'celeba val split (',
        'task "Bald" has fewer than 2 images with an anchor label (yes: 1)',
      );
      await assertNothingDecoded(single.log, path.join(work, 'cache'));
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  });

  it('reads the Kaggle copy (CSV lists, nested image folder) exactly as the official files', async () => {
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-celeba-kaggle-'));
    try {
      await writeCelebaKaggleFixture(path.join(work, 'celeba'), IMAGES);
      const kaggle = await open(work, { attributes: 'paper7' }).dataset;
      const official = await open(dir, { attributes: 'paper7' }).dataset;
      assert.deepEqual(kaggle.tasks, official.tasks);
      for (const split of ['train', 'val', 'test'] as const) {
        assert.deepEqual(kaggle.splits[split].labels, official.splits[split].labels);
        const name = path.basename(official.splits[split].source(0));
        assert.equal(
          kaggle.splits[split].source(0),
          path.join(work, 'celeba', 'img_align_celeba', 'img_align_celeba', name),
        );
        assert.deepEqual(
          await kaggle.splits[split].pixels([0, 1]),
          await official.splits[split].pixels([0, 1]),
        );
      }
      const csv = path.join(work, 'celeba', 'list_attr_celeba.csv');
      const text = await fs.readFile(csv, 'utf8');
      await writeFileAtomic(csv, text.replace(/\r\n000003\.jpg,-?1,/, '\r\n000003.jpg,0,'));
      await rejectsWith(
        open(work).dataset,
        'list_attr_celeba.csv:4',
        'value "0" for 5_o_Clock_Shadow: expected -1 or 1',
      );
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  });

  it('describes tasks from the options alone without data, and from the list files alone with it', async () => {
    const describe = (root: string, options: Record<string, unknown>) =>
      celebaDataset.describe!(celebaDataset.options.parse({ root, ...options }), {
        cacheDir: path.join(dir, 'describe-cache'),
        seed: 0,
        log: recordingLogger(),
      });
    const none = path.join(dir, 'no-such-folder');
    const paper7 = await describe(none, { attributes: 'paper7' });
    assert.equal(paper7.tasks.length, 7);
    assert.equal(paper7.splits, undefined);
    assert.match(paper7.missing!, /CelebA root not found/);
    assert.deepEqual(
      (await describe(none, {})).tasks.map((t) => t.name),
      [...CELEBA_ATTRIBUTES],
    );
    assert.equal((await describe(none, { attributes: ['Bald', 'Young'], identity: true })).tasks.length, 3);

    const present = await describe(path.join(dir, 'celeba'), { attributes: 'paper7', identity: true });
    assert.equal(present.tasks.length, 8);
    assert.deepEqual(present.tasks[7]!.labelNames, ['100', '101', '102']);
    assert.deepEqual(
      ['train', 'val', 'test'].map((s) => present.splits![s as 'train'].size),
      [24, 8, 8],
    );
    assert.deepEqual(await fs.readdir(path.join(dir, 'describe-cache')).catch(() => []), []);
  });

  it('reuses the decoded-image cache without decoding, and rebuilds it when options or images change', async () => {
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-celeba-cache-'));
    try {
      await writeCelebaFixture(path.join(work, 'celeba'), IMAGES);
      const first = open(work, { attributes: ['Bald'] });
      const firstTrain = (await first.dataset).splits.train;
      const file = firstTrain.cacheFile!;
      assert.ok(file.startsWith(path.join(work, 'cache')));
      assert.ok(first.log.infos.some((m) => m.includes('decoded 24 images')));
      assert.ok(first.log.progress.calls.some((m) => m.includes('decoding images 24/24')));
      const before = (await fs.stat(file)).mtimeMs;
      const pixels = await firstTrain.pixels([0, 1, 2, 3, 4, 5]);

      const second = open(work, { attributes: ['Bald'] });
      const secondTrain = (await second.dataset).splits.train;
      assert.ok(second.log.infos.some((m) => m.includes('using decoded-image cache')));
      assert.equal(second.log.progress.calls.length, 0);
      assert.equal((await fs.stat(file)).mtimeMs, before);
      assert.deepEqual(await secondTrain.pixels([0, 1, 2, 3, 4, 5]), pixels);

      // A new image size or fit is a new key: the cache is rebuilt.
      const third = open(work, { attributes: ['Bald'] }, [6, 6]);
      const thirdTrain = (await third.dataset).splits.train;
      assert.notEqual(thirdTrain.cacheFile, file);
      assert.ok(third.log.infos.some((m) => m.includes('decoded 24 images')));
      const filled = open(work, { attributes: ['Bald'], fit: 'fill' });
      assert.notEqual((await filled.dataset).splits.train.cacheFile, file);

      // An image replaced in place (new size and time) is a new key too: its new pixels are decoded.
      await writeJpeg(path.join(work, 'celeba', 'img_align_celeba', '000001.jpg'), 20, 24, 9);
      const replaced = open(work, { attributes: ['Bald'] });
      const replacedTrain = (await replaced.dataset).splits.train;
      assert.notEqual(replacedTrain.cacheFile, file);
      const px = await replacedTrain.pixels([0]);
      assert.ok(Math.abs(px[0]! - fixtureColour(9).r) < 8 && Math.abs(px[1]! - fixtureColour(9).g) < 8);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  });
});
