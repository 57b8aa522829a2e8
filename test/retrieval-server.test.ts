import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { IndexFolder } from '../src/retrieval/index-folder.js';
import type { RunModel } from '../src/retrieval/model.js';
import { startServer, type ServerOptions } from '../src/retrieval/server.js';
import * as tf from '../src/tf.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { tempDir } from './helpers/files.js';
import { indexedRun } from './helpers/retrieval.js';

interface Hit {
  rank: number;
  id: number;
  path: string;
  distance: number;
  thumbnail: string;
}
interface SearchReply {
  task: string;
  mode: string;
  embeddedBy: string;
  hits: Hit[];
  error?: string;
}

function imageForm(file: string, fields: Record<string, string>, name = path.basename(file)): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append('image', new Blob([readFileSync(file)], { type: 'image/png' }), name);
  return form;
}

describe('retrieval server', function () {
  this.timeout(180_000);
  const log = createMemoryLogger();
  let workspace: ReturnType<typeof tempDir>;
  let gallery: string;
  let files: string[];
  let index: IndexFolder;
  let model: RunModel;
  let server: { app: FastifyInstance; url: string };
  const start = (options: Partial<ServerOptions> = {}) =>
    startServer({ index, model, log, host: '127.0.0.1', port: 0, ...options });
  const post = async (url: string, body: FormData | object) => {
    const response = await fetch(`${url}/search`, {
      method: 'POST',
      ...(body instanceof FormData
        ? { body }
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.status, body: (await response.json()) as SearchReply };
  };

  before(async () => {
    workspace = tempDir();
    ({ gallery, files, index, model } = await indexedRun(workspace.dir, log));
    server = await start();
  });
  after(async () => {
    await server?.app.close();
    index?.dispose();
    model?.dispose();
    workspace.cleanup();
  });

  it('describes its tasks, gallery and health', async () => {
    const tasks = (await (await fetch(`${server.url}/tasks`)).json()) as {
      tasks: { name: string }[];
      files: number;
      inputShape: number[];
    };
    assert.deepEqual(
      tasks.tasks.map((t) => t.name),
      ['colour', 'shape', 'position'],
    );
    assert.equal(tasks.files, 24);
    assert.deepEqual(tasks.inputShape, [16, 16, 3]);
    const page = (await (await fetch(`${server.url}/gallery?offset=20&limit=10`)).json()) as {
      total: number;
      items: { id: number; path: string }[];
    };
    assert.equal(page.total, 24);
    assert.deepEqual(
      page.items.map((i) => i.path),
      index.files.slice(20).map((f) => f.path),
    );
    const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string; files: number };
    assert.equal(health.status, 'ok');
    assert.equal(health.files, 24);
    const thumbnail = await fetch(`${server.url}/thumbnails/${page.items[0]!.id}`);
    assert.equal(thumbnail.headers.get('content-type'), 'image/webp');
    assert.equal(
      Buffer.from(await thumbnail.arrayBuffer())
        .subarray(8, 12)
        .toString(),
      'WEBP',
    );
    const missing = await fetch(`${server.url}/thumbnails/999`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /no gallery file with id 999/);
    for (const asset of ['/', '/app.js', '/style.css', '/vendor/tf.min.js']) {
      assert.equal((await fetch(`${server.url}${asset}`)).status, 200, asset);
    }
  });

  it('finds an uploaded gallery image, a gallery item and an embedding at rank 1 under every task', async () => {
    const query = files[5]!;
    const relative = path.relative(gallery, query).split(path.sep).join('/');
    const id = index.files.find((f) => f.path === relative)!.id;
    for (const task of index.tasks) {
      const upload = await post(server.url, imageForm(query, { task, k: '4' }));
      assert.equal(upload.status, 200, upload.body.error);
      assert.equal(upload.body.embeddedBy, 'server');
      assert.equal(upload.body.hits[0]!.path, relative);
      assert.ok(upload.body.hits[0]!.distance < 1e-6);
      assert.equal(upload.body.hits.length, 4);
      const byId = await post(server.url, { task, k: 4, id });
      assert.equal(byId.body.embeddedBy, 'index');
      assert.deepEqual(
        byId.body.hits.map((h) => h.path),
        upload.body.hits.map((h) => h.path),
      );
      const embedding = Array.from(index.vectors(task).row(index.rowOf.get(id)!), (v) => v * 3);
      const byEmbedding = await post(server.url, { task, k: 4, embedding });
      assert.equal(byEmbedding.body.embeddedBy, 'client');
      assert.deepEqual(
        byEmbedding.body.hits.map((h) => h.path),
        upload.body.hits.map((h) => h.path),
      );
    }
  });

  it('answers bad requests with 4xx and a message', async () => {
    const cases: [FormData | object, number, RegExp][] = [
      [
        imageForm(path.join(index.dir, 'manifest.json'), { task: 'shape' }, 'x.png'),
        400,
        /image: cannot read it .*expected a JPEG, PNG or WebP/,
      ],
      [
        imageForm(files[0]!, { task: 'smile' }),
        400,
        /task: expected one of colour, shape, position, got "smile"/,
      ],
      [imageForm(files[0]!, { task: 'shape', k: '1000' }), 400, /k: .*100/],
      [{ task: 'shape' }, 400, /expected either embedding .* or id/],
      [{ task: 'shape', embedding: [1, 2] }, 400, /embedding: expected 8 numbers/],
      [{ task: 'shape', id: 4242 }, 404, /no gallery file with id 4242/],
    ];
    for (const [body, status, message] of cases) {
      const reply = await post(server.url, body);
      assert.equal(reply.status, status, JSON.stringify(reply.body));
      assert.match(reply.body.error!, message);
    }
    const noFile = new FormData();
    noFile.append('task', 'shape');
    const missing = await post(server.url, noFile);
    assert.equal(missing.status, 400);
    assert.match(missing.body.error!, /image: expected an image file/);
  });

  it('limits upload size and image dimensions', async () => {
    const strict = await start({ maxUploadBytes: 100, maxImagePixels: 100 });
    try {
      const large = await post(strict.url, imageForm(files[0]!, { task: 'shape' }));
      assert.equal(large.status, 413);
      assert.match(large.body.error!, /file too large/i);
      const loose = await start({ maxImagePixels: 100 });
      try {
        const big = await post(loose.url, imageForm(files[0]!, { task: 'shape' }));
        assert.equal(big.status, 413);
        assert.match(big.body.error!, /image: 16×16 is 256 pixels, over the limit of 100/);
      } finally {
        await loose.app.close();
      }
    } finally {
      await strict.app.close();
    }
  });

  it('embeds concurrent image queries in shared forward passes, each under its own task', async () => {
    const before = (await (await fetch(`${server.url}/health`)).json()) as {
      batching: { queries: number; forwardPasses: number };
    };
    const queries = files.slice(0, 12).map((file, i) => ({ file, task: index.tasks[i % 3]! }));
    const replies = await Promise.all(
      queries.map((q) => post(server.url, imageForm(q.file, { task: q.task, k: '3' }))),
    );
    replies.forEach((reply, i) => {
      assert.equal(reply.status, 200, reply.body.error);
      assert.equal(reply.body.task, queries[i]!.task);
      assert.equal(path.join(gallery, reply.body.hits[0]!.path), queries[i]!.file);
    });
    // The same answers as one query at a time.
    for (const [i, q] of queries.entries()) {
      const alone = await post(server.url, imageForm(q.file, { task: q.task, k: '3' }));
      assert.deepEqual(
        alone.body.hits.map((h) => h.path),
        replies[i]!.body.hits.map((h) => h.path),
      );
    }
    const after = (await (await fetch(`${server.url}/health`)).json()) as {
      batching: { queries: number; forwardPasses: number; largestBatch: number };
    };
    const passes = after.batching.forwardPasses - before.batching.forwardPasses - queries.length;
    assert.equal(after.batching.queries - before.batching.queries, 2 * queries.length);
    assert.ok(passes < queries.length, `${passes} forward passes for ${queries.length} concurrent queries`);
    assert.ok(after.batching.largestBatch > 1);
  });

  it('runs as mtlzoo serve RUN --gallery DIR until interrupted', async () => {
    const bin = path.resolve('bin/mtlzoo.js');
    const child = spawn(
      process.execPath,
      [bin, 'serve', index.manifest.run.dir, '--gallery', gallery, '--checkpoint', 'last', '--port', '0'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const found = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (found) resolve(found[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    try {
      const health = (await (await fetch(`${url}/health`)).json()) as { files: number; index: string };
      assert.equal(health.files, 24);
      // The run keeps its own index of this gallery (built on first use).
      assert.ok(health.index.startsWith(path.join(index.manifest.run.dir, 'index')));
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    }
    assert.match(stderr, /stopping the server/);
  });

  it('serves the exported model of a task, which tf.loadGraphModel runs to the server’s embeddings', async () => {
    const graph = await tf.loadGraphModel(`${server.url}/models/position/model.json`);
    const pixels = await model.decode(files[7]!);
    const expected = model.embedMixed(pixels, new Int32Array([2]));
    const output = tf.tidy(
      () => graph.execute(tf.tensor4d(Float32Array.from(pixels), [1, 16, 16, 3])) as tf.Tensor,
    );
    const actual = await output.data();
    output.dispose();
    graph.dispose();
    expected.forEach((v, i) => assert.ok(Math.abs(v - actual[i]!) < 1e-5, `${i}: ${v} vs ${actual[i]}`));
  });
});
