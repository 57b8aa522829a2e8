import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IndexFolder } from '../src/retrieval/index-folder.js';
import { readManifest } from '../src/retrieval/manifest.js';
import { searchIndex } from '../src/retrieval/search.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/files.js';
import { trainedRunWithGallery } from './helpers/retrieval.js';

interface SearchJson {
  results: {
    query: string;
    task: string;
    mode: string;
    hits: { rank: number; path: string; distance: number }[];
  }[];
}

/** Flips one bit of a file in place. */
function flipByte(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] = bytes[at]! ^ 0x10;
  writeFileSync(file, bytes);
}

function vectorFile(index: string, position = 0): string {
  const name = readdirSync(path.join(index, 'vectors')).find((f) => f.startsWith(`${position}-`))!;
  return path.join(index, 'vectors', name);
}

describe('retrieval index', function () {
  this.timeout(180_000);
  let workspace: ReturnType<typeof tempDir>;
  let runDir: string;
  let gallery: string;
  let files: string[];
  const build = (...args: string[]) => runCli('index', 'build', runDir, '--checkpoint', 'last', ...args);

  before(async () => {
    workspace = tempDir();
    ({ runDir, gallery, files } = await trainedRunWithGallery(workspace.dir));
  });
  after(() => workspace.cleanup());

  it('builds an index of every task, searches it with many queries, and describes it', async () => {
    const out = path.join(workspace.dir, 'index');
    const built = await build('--gallery', gallery, '--out', out, '--json');
    assert.equal(built.code, 0, built.log);
    const summary = JSON.parse(built.stdout) as {
      files: number;
      tasks: { name: string; search: string }[];
      sharedStages: number;
    };
    assert.equal(summary.files, 24);
    assert.deepEqual(
      summary.tasks.map((t) => [t.name, t.search]),
      [
        ['colour', 'exact'],
        ['shape', 'exact'],
        ['position', 'exact'],
      ],
    );
    // modulation on the tiny backbone: conv1 runs once per image, conv2 and the embedding once per task.
    assert.equal(summary.sharedStages, 1);
    assert.match(built.log, /embedded 24 images under 3 tasks/);

    const queries = [files[3]!, files[10]!];
    const found = await runCli(
      'search',
      out,
      '--query',
      ...queries,
      '--task',
      'shape',
      '--task',
      'colour',
      '--k',
      '5',
      '--json',
    );
    assert.equal(found.code, 0, found.log);
    const { results } = JSON.parse(found.stdout) as SearchJson;
    assert.equal(results.length, 4);
    for (const result of results) {
      assert.equal(result.mode, 'exact');
      assert.equal(path.join(gallery, result.hits[0]!.path), result.query);
      assert.ok(result.hits[0]!.distance < 1e-6);
      for (let i = 1; i < result.hits.length; i++)
        assert.ok(result.hits[i]!.distance >= result.hits[i - 1]!.distance);
    }
    // The task changes the ranking (the model modulates per task).
    const byTask = (task: string) =>
      results.find((r) => r.task === task && r.query === queries[0])!.hits.map((h) => h.distance);
    assert.notDeepEqual(byTask('shape'), byTask('colour'));

    const info = await runCli('index', 'info', out);
    assert.equal(info.code, 0, info.log);
    assert.match(info.stdout, /24 files indexed, 0 skipped, 0 not indexed/);
    assert.match(info.stdout, /manifest, vectors and graphs match their sha256/);
    assert.match(info.stdout, /shared prefix of 1 stage\(s\) run once per image/);
  });

  it('gives the same vectors with the shared prefix as with a full pass per task', async () => {
    const shared = path.join(workspace.dir, 'shared');
    const full = path.join(workspace.dir, 'full');
    assert.equal((await build('--gallery', gallery, '--out', shared)).code, 0);
    assert.equal((await build('--gallery', gallery, '--out', full, '--no-shared-prefix')).code, 0);
    const [a, b] = await Promise.all([IndexFolder.open(shared), IndexFolder.open(full)]);
    assert.equal(b.manifest.build.sharedStages, 0);
    for (const task of a.tasks) {
      const [x, y] = [a.vectors(task).data, b.vectors(task).data];
      assert.equal(x.length, y.length);
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) < 1e-6, `${task}[${i}]`);
    }
    a.dispose();
    b.dispose();
  });

  it('skips and lists images that cannot be read', async () => {
    const withBad = path.join(workspace.dir, 'with-bad');
    cpSync(gallery, withBad, { recursive: true });
    writeFileSync(path.join(withBad, 'broken.png'), 'not an image');
    const out = path.join(workspace.dir, 'index-bad');
    const built = await build('--gallery', withBad, '--out', out, '--task', 'shape');
    assert.equal(built.code, 0, built.log);
    assert.match(built.log, /skipped 1 image\(s\) that could not be read:\n.*broken\.png: corrupt image/);
    const manifest = await readManifest(out);
    assert.equal(manifest.gallery.files.length, 24);
    assert.deepEqual(
      manifest.gallery.skipped.map((s) => s.path),
      ['broken.png'],
    );
  });

  describe('integrity', () => {
    let out: string;
    beforeEach(async () => {
      out = path.join(workspace.dir, 'checked');
      rmSync(out, { recursive: true, force: true });
      assert.equal((await build('--gallery', gallery, '--out', out, '--task', 'shape')).code, 0);
    });
    const search = () => runCli('search', out, '--query', files[0]!, '--k', '3');

    it('detects and names a flipped byte in the vectors', async () => {
      const file = vectorFile(out);
      flipByte(file, 100);
      const result = await search();
      assert.equal(result.code, 1);
      assert.match(
        result.log,
        new RegExp(
          `vector file vectors/${path.basename(file)} does not match the sha256 in manifest\\.json: it is corrupted`,
        ),
      );
      const info = await runCli('index', 'info', out);
      assert.equal(info.code, 1);
      assert.match(info.stdout, /check +.*does not match the sha256/);
    });

    it('detects an edited manifest', async () => {
      const file = path.join(out, 'manifest.json');
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { gallery: { files: { size: number }[] } };
      manifest.gallery.files[0]!.size += 1;
      writeFileSync(file, JSON.stringify(manifest));
      const result = await search();
      assert.equal(result.code, 1);
      assert.match(result.log, /manifest\.json does not match its own checksum: it was edited or damaged/);
    });

    it('detects and names a changed gallery file, and index add repairs it', async () => {
      const changed = path.join(workspace.dir, 'changed');
      rmSync(changed, { recursive: true, force: true });
      cpSync(gallery, changed, { recursive: true });
      const target = path.join(workspace.dir, 'checked-changed');
      rmSync(target, { recursive: true, force: true });
      assert.equal((await build('--gallery', changed, '--out', target, '--task', 'shape')).code, 0);
      // An edit: img-04 now holds img-02's image.
      writeFileSync(path.join(changed, 'img-04.png'), readFileSync(path.join(changed, 'img-02.png')));
      const result = await runCli('search', target, '--query', files[0]!);
      assert.equal(result.code, 1);
      assert.match(result.log, /gallery files 1 changed since indexed \(img-04\.png\)/);
      assert.match(result.log, /mtlzoo index add/);
      const added = await runCli('index', 'add', target, path.join(changed, 'img-04.png'));
      assert.equal(added.code, 0, added.log);
      assert.match(added.stdout, /1 replaced; 24 files indexed/);
      const after = await runCli('search', target, '--query', path.join(changed, 'img-04.png'), '--json');
      assert.equal(after.code, 0, after.log);
      const hits = (JSON.parse(after.stdout) as SearchJson).results[0]!.hits;
      // Both files now hold the same image.
      assert.deepEqual(
        hits
          .slice(0, 2)
          .map((h) => h.path)
          .sort(),
        ['img-02.png', 'img-04.png'],
      );
      assert.ok(hits[1]!.distance < 1e-6);
    });

    it("detects and names another run's weights", async () => {
      const other = await trainedRunWithGallery(workspace.dir, { name: 'other', seed: 9, count: 2 });
      const result = await runCli(
        'search',
        out,
        '--query',
        files[0]!,
        '--run',
        other.runDir,
        '--checkpoint',
        'last',
      );
      assert.equal(result.code, 1);
      assert.match(
        result.log,
        new RegExp(
          `built with weights [0-9a-f]{16} \\(.*run, last\\), but ${other.runDir} \\(last\\) has weights [0-9a-f]{16}`,
        ),
      );
      const add = await runCli('index', 'add', out, files[0]!, '--run', other.runDir, '--checkpoint', 'last');
      assert.equal(add.code, 1);
      assert.match(add.log, /built with weights/);
    });
  });

  for (const ann of ['none', 'hnsw']) {
    it(`add and remove give the results of a fresh build (--ann ${ann})`, async () => {
      const grown = path.join(workspace.dir, `grown-${ann}`);
      const fresh = path.join(workspace.dir, `fresh-${ann}`);
      const part = path.join(workspace.dir, `part-${ann}`);
      cpSync(gallery, part, { recursive: true });
      // Start without the nested folder and two top-level files, then add them and drop two others.
      rmSync(path.join(part, 'nested'), { recursive: true });
      for (const f of ['img-00.png', 'img-08.png']) rmSync(path.join(part, f));
      assert.equal((await build('--gallery', part, '--out', grown, '--ann', ann)).code, 0);
      cpSync(gallery, part, { recursive: true });
      const added = await runCli(
        'index',
        'add',
        grown,
        path.join(part, 'nested'),
        path.join(part, 'img-00.png'),
        path.join(part, 'img-08.png'),
        '--json',
      );
      assert.equal(added.code, 0, added.log);
      assert.equal((JSON.parse(added.stdout) as { added: string[] }).added.length, 14);
      for (const f of ['img-02.png', 'nested/img-05.png']) rmSync(path.join(part, f));
      const removed = await runCli(
        'index',
        'remove',
        grown,
        path.join(part, 'img-02.png'),
        path.join(part, 'nested', 'img-05.png'),
      );
      assert.equal(removed.code, 0, removed.log);
      assert.match(removed.stdout, /2 removed; 22 files indexed/);
      assert.equal((await build('--gallery', part, '--out', fresh, '--ann', ann)).code, 0);

      const [a, b] = await Promise.all([IndexFolder.open(grown), IndexFolder.open(fresh)]);
      assert.deepEqual(
        a.files.map((f) => [f.path, f.sha256]),
        b.files.map((f) => [f.path, f.sha256]),
      );
      for (const task of b.tasks) {
        const [x, y] = [a.vectors(task), b.vectors(task)];
        for (let i = 0; i < x.data.length; i++) assert.ok(Math.abs(x.data[i]! - y.data[i]!) < 1e-6);
        for (let q = 0; q < b.files.length; q += 5) {
          const query = y.row(q).slice();
          for (const mode of ann === 'hnsw' ? (['exact', 'hnsw'] as const) : (['exact'] as const)) {
            const [ra, rb] = await Promise.all([
              searchIndex(a, task, query, 5, mode),
              searchIndex(b, task, query, 5, mode),
            ]);
            assert.equal(ra.mode, mode);
            const hits = (r: typeof ra) => r.hits[0]!.map((h) => [h.path, Number(h.distance.toFixed(5))]);
            if (mode === 'exact') assert.deepEqual(hits(ra), hits(rb));
            else assert.deepEqual(hits(ra)[0], hits(rb)[0]);
          }
        }
        if (ann === 'hnsw') assert.ok(a.task(task).hnsw!.recallAt10 >= 0.95);
      }
      a.dispose();
      b.dispose();
      const unknown = await runCli('index', 'remove', grown, path.join(part, 'img-02.png'));
      assert.equal(unknown.code, 2);
      assert.match(unknown.log, /not in the index .*img-02\.png; nothing was removed/);
    });
  }
});
