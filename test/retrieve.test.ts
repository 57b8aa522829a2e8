import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/files.js';
import { trainedRunWithGallery } from './helpers/retrieval.js';

interface RetrieveJson {
  gallerySize: number;
  indexReused: boolean;
  indexDir: string;
  hits: { rank: number; file: string; distance: number }[];
}

describe('retrieve', function () {
  this.timeout(120_000);
  let workspace: ReturnType<typeof tempDir>;
  let runDir: string;
  let gallery: string;
  /** `mtlzoo retrieve` of the run against the gallery (the run does not validate: a last checkpoint only). */
  const retrieve = (task: string, query: string, ...extra: string[]) =>
    runCli('retrieve', runDir, '--task', task, '--query', query, '--gallery', gallery, ...extra);
  const json = async (task: string, query: string, ...extra: string[]) => {
    const result = await retrieve(task, query, '--checkpoint', 'last', '--json', ...extra);
    assert.equal(result.code, 0, result.log);
    return { ...result, value: JSON.parse(result.stdout) as RetrieveJson };
  };

  before(async () => {
    workspace = tempDir();
    ({ runDir, gallery } = await trainedRunWithGallery(workspace.dir, { count: 12 }));
  });
  after(() => workspace.cleanup());

  it('ranks the gallery by distance, the query itself first, and reuses the index', async () => {
    const query = path.join(gallery, 'nested', 'img-03.png');
    const { value: result } = await json('shape', query, '--k', '5');
    assert.equal(result.gallerySize, 12);
    assert.equal(result.indexReused, false);
    assert.equal(result.hits.length, 5);
    assert.equal(result.hits[0]!.file, query);
    assert.ok(result.hits[0]!.distance < 1e-6);
    for (let i = 1; i < result.hits.length; i++)
      assert.ok(result.hits[i]!.distance >= result.hits[i - 1]!.distance);
    const { value: second } = await json('shape', query, '--k', '5');
    assert.equal(second.indexReused, true);
    assert.deepEqual(second.hits, result.hits);
    // Another task is added to the run's index for this gallery (rebuilt once, then reused for both).
    const { value: colour } = await json('colour', query);
    assert.equal(colour.indexReused, false);
    assert.equal(colour.hits.length, 10);
    assert.notDeepEqual(
      colour.hits.map((h) => h.distance),
      result.hits.map((h) => h.distance),
    );
    assert.equal((await json('shape', query)).value.indexReused, true);
  });

  it('rebuilds, with a notice, an index that fails its checks', async () => {
    const query = path.join(gallery, 'img-00.png');
    const { value: first } = await json('shape', query);
    const vectors = path.join(first.indexDir, 'vectors');
    for (const name of readdirSync(vectors)) {
      const bytes = readFileSync(path.join(vectors, name));
      bytes[7] = bytes[7]! ^ 0x40;
      writeFileSync(path.join(vectors, name), bytes);
    }
    const again = await json('shape', query);
    assert.match(
      again.log,
      /rebuilding the index in .*: .*vector file vectors\/\S+ does not match the sha256 in manifest\.json: it is corrupted/,
    );
    assert.equal(again.value.indexReused, false);
    assert.deepEqual(again.value.hits, first.hits);
  });

  it('names the problem with a bad task, gallery or query', async () => {
    const query = path.join(gallery, 'img-00.png');
    const task = await retrieve('smile', query, '--checkpoint', 'last');
    assert.equal(task.code, 2);
    assert.match(
      task.log,
      /--task: expected one of the run's tasks \(colour, shape, position\), got "smile"/,
    );
    const empty = path.join(workspace.dir, 'empty');
    mkdirSync(empty);
    const noImages = await runCli(
      'retrieve',
      runDir,
      '--task',
      'shape',
      '--query',
      query,
      '--gallery',
      empty,
      '--checkpoint',
      'last',
    );
    assert.match(noImages.log, /no \.jpg, \.png or \.webp images in/);
    const badQuery = await retrieve(
      'shape',
      path.join(workspace.dir, 'run', 'config.yaml'),
      '--checkpoint',
      'last',
    );
    assert.equal(badQuery.code, 1);
    assert.match(badQuery.log, /config\.yaml: cannot read the query image: corrupt image/);
    // The run does not validate, so it has no best checkpoint: the default is its last one.
    const byDefault = await retrieve('shape', query, '--json');
    assert.equal(byDefault.code, 0, byDefault.log);
    assert.equal((JSON.parse(byDefault.stdout) as RetrieveJson).hits[0]!.file, query);
    const noBest = await retrieve('shape', query, '--checkpoint', 'best');
    assert.equal(noBest.code, 2);
    assert.match(noBest.log, /has no best checkpoint .*; pass --checkpoint last to use the last one/);
  });
});
