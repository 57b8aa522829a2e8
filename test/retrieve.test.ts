import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/files.js';
import { trainedRunWithGallery } from './helpers/retrieval.js';

describe('retrieve', function () {
  this.timeout(120_000);
  let workspace: ReturnType<typeof tempDir>;
  let runDir: string;
  let gallery: string;
  before(async () => {
    workspace = tempDir();
    ({ runDir, gallery } = await trainedRunWithGallery(workspace.dir, { count: 12 }));
  });
  after(() => workspace.cleanup());

  it('ranks the gallery by distance, the query itself first, and reuses the index', async () => {
    const query = path.join(gallery, 'nested', 'img-03.png');
    const first = await runCli(
      'retrieve',
      runDir,
      '--task',
      'shape',
      '--query',
      query,
      '--gallery',
      gallery,
      '--k',
      '5',
      '--json',
      '--checkpoint',
      'last',
    );
    assert.equal(first.code, 0, first.log);
    const result = JSON.parse(first.stdout) as {
      gallerySize: number;
      indexReused: boolean;
      hits: { rank: number; file: string; distance: number }[];
    };
    assert.equal(result.gallerySize, 12);
    assert.equal(result.indexReused, false);
    assert.equal(result.hits.length, 5);
    assert.equal(result.hits[0]!.file, query);
    assert.ok(result.hits[0]!.distance < 1e-6);
    for (let i = 1; i < result.hits.length; i++)
      assert.ok(result.hits[i]!.distance >= result.hits[i - 1]!.distance);
    const second = JSON.parse(
      (
        await runCli(
          'retrieve',
          runDir,
          '--task',
          'shape',
          '--query',
          query,
          '--gallery',
          gallery,
          '--k',
          '5',
          '--json',
          '--checkpoint',
          'last',
        )
      ).stdout,
    ) as typeof result;
    assert.equal(second.indexReused, true);
    assert.deepEqual(second.hits, result.hits);
    // Another task is added to the run's index for this gallery (rebuilt once, then reused for both).
    const colour = JSON.parse(
      (
        await runCli(
          'retrieve',
          runDir,
          '--task',
          'colour',
          '--query',
          query,
          '--gallery',
          gallery,
          '--json',
          '--checkpoint',
          'last',
        )
      ).stdout,
    ) as typeof result;
    assert.equal(colour.indexReused, false);
    assert.equal(colour.hits.length, 10);
    assert.notDeepEqual(
      colour.hits.map((h) => h.distance),
      result.hits.map((h) => h.distance),
    );
  });

  it('rebuilds, with a notice, an index that fails its checks', async () => {
    const query = path.join(gallery, 'img-00.png');
    const args = [
      'retrieve',
      runDir,
      '--task',
      'shape',
      '--query',
      query,
      '--gallery',
      gallery,
      '--json',
      '--checkpoint',
      'last',
    ];
    const first = JSON.parse((await runCli(...args)).stdout) as {
      indexDir: string;
      hits: { file: string }[];
    };
    const vectors = path.join(first.indexDir, 'vectors');
    for (const name of readdirSync(vectors)) {
      const bytes = readFileSync(path.join(vectors, name));
      bytes[7] = bytes[7]! ^ 0x40;
      writeFileSync(path.join(vectors, name), bytes);
    }
    const again = await runCli(...args);
    assert.equal(again.code, 0, again.log);
    assert.match(
      again.log,
      /rebuilding the index in .*: .*vector file vectors\/\S+ does not match the sha256 in manifest\.json: it is corrupted/,
    );
    const result = JSON.parse(again.stdout) as { indexReused: boolean; hits: { file: string }[] };
    assert.equal(result.indexReused, false);
    assert.deepEqual(result.hits, first.hits);
  });

  it('names the problem with a bad task, gallery or query', async () => {
    const query = path.join(gallery, 'img-00.png');
    const task = await runCli(
      'retrieve',
      runDir,
      '--task',
      'smile',
      '--query',
      query,
      '--gallery',
      gallery,
      '--checkpoint',
      'last',
    );
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
    const badQuery = await runCli(
      'retrieve',
      runDir,
      '--task',
      'shape',
      '--query',
      path.join(workspace.dir, 'run', 'config.yaml'),
      '--gallery',
      gallery,
      '--checkpoint',
      'last',
    );
    assert.equal(badQuery.code, 1);
    assert.match(badQuery.log, /config\.yaml: cannot read the query image: corrupt image/);
    const noBest = await runCli(
      'retrieve',
      runDir,
      '--task',
      'shape',
      '--query',
      query,
      '--gallery',
      gallery,
    );
    assert.equal(noBest.code, 2);
    assert.match(noBest.log, /has no best checkpoint .*; pass --checkpoint last to use the last one/);
  });
});
