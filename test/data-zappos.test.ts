import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/write.js';
import {
  cidOfImage,
  compareHeel,
  generateTripletLists,
  parseHeelHeight,
  parseMetadata,
  type GeneratorOptions,
} from '../src/data/zappos.js';
import { utZappos50kDataset } from '../plugins/dataset/ut-zappos50k.js';
import { assertNothingDecoded, recordingLogger } from './fixtures/data-log.js';
import {
  csnPath,
  HEEL_INCHES,
  imagePath,
  metadataText,
  shoes,
  writeProtocol,
  writeZapposFixture,
  type ShoeFixture,
} from './fixtures/zappos.js';

const SHOES = shoes(80);
const SPLITS = ['train', 'val', 'test'] as const;
const CONDITIONS = ['class', 'closure', 'gender', 'heel'] as const;
/** Rank of each heel wording among the fixture's heights, from the fixture's own inch values. */
const HEEL_RANK = new Map(
  [...HEEL_INCHES].sort((a, b) => a[1] - b[1]).map(([wording], rank) => [wording, rank]),
);

function open(root: string, cacheDir: string, options: Record<string, unknown> = {}) {
  const log = recordingLogger();
  const parsed = utZappos50kDataset.options.parse({ root, ...options });
  const dataset = Promise.resolve(
    utZappos50kDataset.create(parsed, { cacheDir, seed: 5, imageSize: [8, 8], log }),
  );
  return { dataset, log };
}

async function rejectsWith(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'DATA_INVALID', error.message);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
    return true;
  });
}

const valueSet = (shoe: ShoeFixture, condition: (typeof CONDITIONS)[number]): string[] => {
  const raw = { class: shoe.category, closure: shoe.closure, gender: shoe.gender, heel: shoe.heel }[
    condition
  ];
  return raw.split(';').filter((v) => v !== '');
};

describe('data: ut-zappos50k', () => {
  let dir: string;
  let root: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtlzoo-zappos-'));
    root = path.join(dir, 'zappos');
    await writeZapposFixture(root, SHOES);
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('parses meta-data.csv: `;`-joined multi-values, blanks, quoted commas, CRLF', () => {
    const records = parseMetadata(metadataText(SHOES), 'meta-data.csv');
    assert.equal(records.size, SHOES.length);
    const withMulti = SHOES.find((s) => s.closure.includes(';') && s.gender === '')!;
    const record = records.get(withMulti.cid)!;
    assert.deepEqual(record.closure, ['Buckle', 'Hook and Loop']);
    assert.deepEqual(record.gender, []);
    assert.equal(cidOfImage(imagePath(SHOES[1]!)), SHOES[1]!.cid);
    assert.ok(imagePath(SHOES[1]!).includes('/Brand A.B./7000001.101.jpg'));
  });

  it('reports malformed metadata with file and line', () => {
    const lines = metadataText(SHOES.slice(0, 4)).split('\r\n');
    const text = (line: number, content: string) =>
      [...lines.slice(0, line - 1), content, ...lines.slice(line)].join('\n');
    assert.throws(
      () => parseMetadata(text(3, '7000001-101,Boots,Ankle'), 'meta-data.csv'),
      /meta-data\.csv:3: expected 9 comma-separated fields, got 3/,
    );
    assert.throws(
      () => parseMetadata(text(2, lines[1]!.replace('Flat', 'Sky high')), 'meta-data.csv'),
      /meta-data\.csv:2: heel height "Sky high"/,
    );
    assert.throws(
      () => parseMetadata(text(1, 'CID,Category'), 'meta-data.csv'),
      /meta-data\.csv:1: missing column SubCategory/,
    );
    assert.throws(
      () => parseMetadata(text(4, lines[2]!), 'meta-data.csv'),
      /meta-data\.csv:4: CID 7000001-101 is listed again \(first on line 3\)/,
    );
  });

  it('reads the official CSN layout: filenames.json relative to ut-zap50k-images/, lines `a b c` as (a, c, b)', async () => {
    const protocol = path.join(dir, 'official');
    const filenames = SHOES.slice(0, 12).map(csnPath);
    // Shoes 0, 4 and 8 are `Shoes`, 1 and 5 are `Boots`: in `0 1 4`, 0 is closer to 4 than to 1.
    const lists = Object.fromEntries(
      CONDITIONS.flatMap((c) =>
        SPLITS.map((s) => [`${c}_tripletlist_${s}`, s === 'train' ? ['0 1 4', '5 0 1'] : ['8 2 4']]),
      ),
    );
    await writeProtocol(protocol, filenames, lists);
    const ds = await open(root, path.join(dir, 'cache'), { protocolDir: protocol }).dataset;
    assert.deepEqual(
      ds.tasks.map((t) => t.name),
      [...CONDITIONS],
    );
    const train = ds.splits.train;
    assert.deepEqual(
      [...train.triplets![0]!].map((i) => train.source(i)),
      [0, 4, 1, 5, 1, 0].map((i) => path.join(root, 'ut-zap50k-images', filenames[i]!)),
    );
    const labels = train.labels[0]!;
    const [a, p, n] = train.triplets![0]!;
    assert.equal(labels[a!], labels[p!]);
    assert.notEqual(labels[a!], labels[n!]);
    assert.deepEqual(ds.tasks[0]!.labelNames, ['Boots', 'Sandals', 'Shoes', 'Slippers']);
    assert.equal(ds.splits.val.size, 3);
    // A blank value is no label, not a label of its own: shoe 5 (train image 3) has a blank heel height.
    assert.equal(SHOES[5]!.heel, '');
    assert.ok(train.source(3).endsWith(filenames[5]!));
    assert.equal(train.labels[3]![3], -1);
    assert.ok(!ds.tasks[3]!.labelNames.includes(''));
  });

  it('also reads lists whose paths already start with ut-zap50k-images/', async () => {
    const protocol = path.join(dir, 'prefixed');
    const lists = Object.fromEntries(
      CONDITIONS.flatMap((c) => SPLITS.map((s) => [`${c}_tripletlist_${s}`, ['0 1 4', '8 2 4']])),
    );
    await writeProtocol(protocol, SHOES.slice(0, 12).map(imagePath), lists);
    const ds = await open(root, path.join(dir, 'cache'), { protocolDir: protocol }).dataset;
    assert.equal(ds.splits.test.source(0), path.join(root, imagePath(SHOES[0]!)));
  });

  it('parses every heel wording, in either vocabulary, and orders heights', () => {
    const inches = (text: string) => parseHeelHeight(text, 'meta-data.csv', 7);
    for (const [wording, height] of HEEL_INCHES)
      assert.deepEqual(inches(wording), { low: height, high: height });
    assert.deepEqual(inches('Under 1in'), { low: 0, high: 1 });
    assert.deepEqual(inches('1in - 1 3/4in'), { low: 1, high: 1.75 });
    assert.deepEqual(inches('5in & over'), { low: 5, high: Infinity });
    assert.deepEqual(inches('1 - 1 1/2 inch'), { low: 1, high: 1.5 });
    assert.deepEqual(inches('2 1/4 inches'), { low: 2.25, high: 2.25 });
    assert.deepEqual(inches('2.5"'), { low: 2.5, high: 2.5 });
    assert.deepEqual(inches('3½ inch'), { low: 3.5, high: 3.5 });
    const order = [
      'Flat',
      'Under 1in',
      '1/2 inch',
      '1 inch',
      '1in - 1 3/4in',
      '1 1/2 inch',
      '3 1/2 inch',
      '5in & over',
    ];
    assert.deepEqual(
      [...order].reverse().sort((a, b) => compareHeel(inches(a), inches(b))),
      order,
    );
    assert.throws(() => inches('Sky high'), /meta-data\.csv:7: heel height "Sky high": expected Flat/);
    assert.throws(() => inches('3 - 1 inch'), /meta-data\.csv:7: heel height "3 - 1 inch"/);
  });

  it('labels heels in height order', async () => {
    const protocol = path.join(dir, 'heels');
    const lists = Object.fromEntries(
      CONDITIONS.flatMap((c) => SPLITS.map((s) => [`${c}_tripletlist_${s}`, ['0 1 4', '8 2 4']])),
    );
    await writeProtocol(protocol, SHOES.map(csnPath), lists);
    const ds = await open(root, path.join(dir, 'cache'), { protocolDir: protocol }).dataset;
    const heel = ds.tasks[3]!.labelNames;
    assert.deepEqual(
      heel,
      [...HEEL_INCHES].sort((a, b) => a[1] - b[1]).map(([wording]) => wording),
    );
  });

  it('reports out-of-range indices, malformed lines and missing protocol files with file and line', async () => {
    const protocol = path.join(dir, 'broken');
    const filenames = SHOES.slice(0, 12).map(csnPath);
    const lists = Object.fromEntries(
      CONDITIONS.flatMap((c) => SPLITS.map((s) => [`${c}_tripletlist_${s}`, ['0 1 4']])),
    );
    await writeProtocol(protocol, filenames, { ...lists, class_tripletlist_val: ['0 1 4', '0 1 12'] });
    // A val list's error is found before the train split is decoded: nothing is decoded at all.
    const early = open(root, path.join(dir, 'broken-cache'), { protocolDir: protocol });
    await rejectsWith(
      early.dataset,
      'class_tripletlist_val.txt:2',
      'image index 12 is out of range',
      'filenames.json has 12 entries',
    );
    await assertNothingDecoded(early.log, path.join(dir, 'broken-cache'));
    await writeProtocol(protocol, filenames, { ...lists, heel_tripletlist_test: ['0 1 4', '', '0 1'] });
    await rejectsWith(
      open(root, path.join(dir, 'cache'), { protocolDir: protocol }).dataset,
      'heel_tripletlist_test.txt:3',
      'expected three image indices',
    );
    await writeProtocol(protocol, filenames, { ...lists, gender_tripletlist_train: ['0 x 4'] });
    await rejectsWith(
      open(root, path.join(dir, 'cache'), { protocolDir: protocol }).dataset,
      'gender_tripletlist_train.txt:1',
      'got "x"',
    );
    await writeProtocol(protocol, filenames, lists);
    await fs.rm(path.join(protocol, 'tripletlists', 'closure_tripletlist_test.txt'));
    await rejectsWith(
      open(root, path.join(dir, 'cache'), { protocolDir: protocol }).dataset,
      'closure_tripletlist_test.txt',
      'not found',
    );
    await rejectsWith(
      open(root, path.join(dir, 'cache')).dataset,
      'filenames.json',
      'not found',
      'triplets: generate',
    );
    await rejectsWith(
      open(path.join(dir, 'none'), path.join(dir, 'cache')).dataset,
      'UT-Zappos50K root not found',
    );
  });

  it('generates lists whose every line obeys its condition, from a seed, with disjoint splits', async () => {
    const out = path.join(dir, 'generated');
    const options: GeneratorOptions = {
      seed: 11,
      counts: { train: 300, val: 60, test: 60 },
      fractions: { train: 0.5, val: 0.25, test: 0.25 },
      heel: { close: 0, far: 2 },
      conditions: CONDITIONS,
    };
    await generateTripletLists(root, out, options);
    const filenames = (await fs.readFile(path.join(out, 'filenames.json'), 'utf8')).trim().split('\n');
    // CSN's form: paths relative to ut-zap50k-images/.
    assert.deepEqual([...filenames].sort(), SHOES.map(csnPath).sort());
    const shoeOf = new Map(SHOES.map((s) => [csnPath(s), s]));
    const splitOf = new Map<number, string>();
    let heelChecked = 0;
    for (const condition of CONDITIONS) {
      for (const split of SPLITS) {
        const text = await fs.readFile(
          path.join(out, 'tripletlists', `${condition}_tripletlist_${split}.txt`),
          'utf8',
        );
        const lines = text.trim().split('\n');
        assert.equal(lines.length, options.counts[split]);
        for (const line of lines) {
          const [a, far, close] = line.split(' ').map(Number) as [number, number, number];
          for (const i of [a, far, close]) {
            assert.equal(splitOf.get(i) ?? split, split, `image ${i} in two splits`);
            splitOf.set(i, split);
          }
          assert.notEqual(a, close);
          const [sa, sf, sc] = [a, far, close].map((i) => shoeOf.get(filenames[i]!)!) as [
            ShoeFixture,
            ShoeFixture,
            ShoeFixture,
          ];
          if (condition === 'heel') {
            // Against the fixture's own inch values: same height as the close one, ≥ 2 heights from the far.
            const rank = (s: ShoeFixture) => HEEL_RANK.get(s.heel)!;
            assert.ok(rank(sa) >= 0 && rank(sf) >= 0 && rank(sc) >= 0, line);
            assert.equal(rank(sa), rank(sc), `${condition}: ${line}`);
            assert.ok(Math.abs(rank(sa) - rank(sf)) >= 2, `${condition}: ${line}`);
            heelChecked++;
          } else {
            const va = valueSet(sa, condition);
            assert.ok(va.length > 0, line);
            assert.deepEqual(valueSet(sc, condition).sort(), [...va].sort(), `${condition}: ${line}`);
            assert.ok(
              !valueSet(sf, condition).some((v) => va.includes(v)) && valueSet(sf, condition).length > 0,
              `${condition}: ${line}`,
            );
          }
        }
      }
    }
    assert.equal(heelChecked, 420);
    const again = path.join(dir, 'generated-again');
    await generateTripletLists(root, again, options);
    const list = 'tripletlists/closure_tripletlist_train.txt';
    assert.equal(
      await fs.readFile(path.join(again, list), 'utf8'),
      await fs.readFile(path.join(out, list), 'utf8'),
    );
    const other = path.join(dir, 'generated-other');
    await generateTripletLists(root, other, { ...options, seed: 12 });
    assert.notEqual(
      await fs.readFile(path.join(other, list), 'utf8'),
      await fs.readFile(path.join(out, list), 'utf8'),
    );
  });

  it('opens with generated lists, reusing them and the image cache on the next open', async () => {
    const cache = path.join(dir, 'gen-cache');
    const options = {
      triplets: 'generate',
      generator: {
        counts: { train: 40, val: 10, test: 10 },
        fractions: { train: 0.5, val: 0.25, test: 0.25 },
      },
    };
    const first = open(root, cache, options);
    const ds = await first.dataset;
    for (const split of SPLITS) {
      for (const list of ds.splits[split].triplets!)
        assert.equal(list!.length, 3 * (split === 'train' ? 40 : 10));
    }
    const [generated] = (await fs.readdir(cache)).filter((f) => f.startsWith('ut-zappos50k-triplets-'));
    const listFile = path.join(cache, generated!, 'tripletlists', 'heel_tripletlist_train.txt');
    const before = (await fs.stat(listFile)).mtimeMs;
    const second = open(root, cache, options);
    const ds2 = await second.dataset;
    assert.equal((await fs.stat(listFile)).mtimeMs, before);
    assert.ok(second.log.infos.every((m) => !/decoded \d+ images/.test(m)));
    assert.equal(second.log.progress.calls.length, 0);
    assert.deepEqual(ds2.splits.test.triplets, ds.splits.test.triplets);
  });

  it('skips a corrupt image under onBadImage: skip, dropping the triplets that use it', async () => {
    const protocol = path.join(dir, 'skip');
    const filenames = SHOES.slice(0, 12).map(csnPath);
    const lists = Object.fromEntries(
      CONDITIONS.flatMap((c) => SPLITS.map((s) => [`${c}_tripletlist_${s}`, ['0 1 4', '5 0 1', '8 9 4']])),
    );
    await writeProtocol(protocol, filenames, lists);
    const badRoot = path.join(dir, 'zappos-bad');
    await writeZapposFixture(badRoot, SHOES.slice(0, 12));
    await writeFileAtomic(path.join(badRoot, imagePath(SHOES[9]!)), 'not a jpeg');
    await rejectsWith(
      open(badRoot, path.join(dir, 'skip-cache'), { protocolDir: protocol }).dataset,
      '7000009.102.jpg',
      'corrupt image',
    );
    const { dataset, log } = open(badRoot, path.join(dir, 'skip-cache'), {
      protocolDir: protocol,
      onBadImage: 'skip',
    });
    const train = (await dataset).splits.train;
    assert.equal(train.size, 5);
    assert.equal(train.triplets![0]!.length, 6);
    assert.ok(log.warnings.some((w) => w.includes('skipped 1 bad image(s)')));
    assert.ok(log.warnings.some((w) => w.includes('dropped 4 triplet(s)')));
  });
});
