import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type * as tfjs from '@tensorflow/tfjs';
import type { Browser, Page } from 'playwright-core';
import { exportModel } from '../src/retrieval/export.js';
import type { IndexFolder } from '../src/retrieval/index-folder.js';
import type { RunModel } from '../src/retrieval/model.js';
import { startServer } from '../src/retrieval/server.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { launchChromium } from './helpers/browser.js';
import { tempDir } from './helpers/files.js';
import { indexedRun } from './helpers/retrieval.js';

/**
 * The page's globals as far as these tests use them (the tests compile without the DOM library); used as
 * `(globalThis as unknown as PageGlobals)` inside functions that run in the page.
 */
interface PageGlobals {
  document: {
    body: { dataset: Record<string, string | undefined> };
    getElementById(id: string): { disabled: boolean };
  };
  tf: typeof tfjs;
}

/** Where the page screenshot is saved (a test artefact; not committed). */
const ARTIFACTS = path.resolve('test-artifacts');

/** A plain static file server: what any web host would be, with no mtlzoo code in it. */
function staticServer(files: Record<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const file = files[request.url ?? ''];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    const type = file.endsWith('.js')
      ? 'text/javascript'
      : file.endsWith('.json')
        ? 'application/json'
        : file.endsWith('.html')
          ? 'text/html'
          : 'application/octet-stream';
    response.writeHead(200, { 'content-type': type }).end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve({ server, url: `http://127.0.0.1:${address.port}` });
    }),
  );
}

describe('retrieval in a browser', function () {
  this.timeout(240_000);
  const log = createMemoryLogger();
  let workspace: ReturnType<typeof tempDir>;
  let gallery: string;
  let files: string[];
  let index: IndexFolder;
  let model: RunModel;
  let server: { app: FastifyInstance; url: string };
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    workspace = tempDir();
    ({ gallery, files, index, model } = await indexedRun(workspace.dir, log));
    server = await startServer({ index, model, log, host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
  });
  after(async () => {
    await browser?.close();
    await server?.app.close();
    index?.dispose();
    model?.dispose();
    workspace.cleanup();
  });

  const resultPaths = () =>
    page.locator('#results li').evaluateAll((items) => items.map((li) => li.getAttribute('data-path')));

  it('loads the page with no console errors', async () => {
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(await page.locator('#tasks button').evaluateAll((b) => b.map((x) => x.textContent)), [
      'colour',
      'shape',
      'position',
    ]);
    assert.equal(await page.locator('#gallery li').count(), 24);
    assert.deepEqual(errors, []);
  });

  it('finds an uploaded gallery image at rank 1, embedded in the browser', async () => {
    await page.click('#tasks button[data-task="shape"]');
    await page.waitForFunction(
      () => !(globalThis as unknown as PageGlobals).document.getElementById('embed-in-browser').disabled,
    );
    const query = files[9]!;
    await page.setInputFiles('#query-file', query);
    await page.waitForFunction(() => {
      const { dataset } = (globalThis as unknown as PageGlobals).document.body;
      return dataset['lastTask'] === 'shape' && Number(dataset['searches']) >= 1;
    });
    const paths = await resultPaths();
    assert.equal(paths[0], path.relative(gallery, query).split(path.sep).join('/'));
    assert.match(
      (await page.locator('#status').textContent()) ?? '',
      /under shape: exact search, .* ms, embedded in the browser/,
    );
    const first = await page.locator('#results li').first().getAttribute('data-distance');
    assert.ok(Number(first) < 1e-4, `distance of the query to itself: ${first}`);
    assert.deepEqual(errors, []);
  });

  it('re-ranks under another task as the server API does', async () => {
    const before = await resultPaths();
    const searches = Number(await page.locator('body').getAttribute('data-searches'));
    await page.click('#tasks button[data-task="position"]');
    await page.waitForFunction((n) => {
      const { dataset } = (globalThis as unknown as PageGlobals).document.body;
      return dataset['lastTask'] === 'position' && Number(dataset['searches']) > n;
    }, searches);
    const after = await resultPaths();
    assert.notDeepEqual(after, before);
    const form = new FormData();
    form.append('task', 'position');
    form.append('k', String(after.length));
    form.append('image', new Blob([readFileSync(files[9]!)]), 'q.png');
    const api = (await (await fetch(`${server.url}/search`, { method: 'POST', body: form })).json()) as {
      hits: { path: string }[];
    };
    assert.deepEqual(
      after,
      api.hits.map((h) => h.path),
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'retrieval-page.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });

  it('runs the exported model in stock TensorFlow.js to the embeddings Node computes', async () => {
    const exported = path.join(workspace.dir, 'exported');
    const written = await exportModel(model, exported, { task: 'colour', batch: 3 });
    const require = createRequire(import.meta.url);
    const tfjs = path.join(
      path.dirname(require.resolve('@tensorflow/tfjs/package.json')),
      'dist',
      'tf.min.js',
    );
    const html = path.join(workspace.dir, 'bare.html');
    writeFileSync(
      html,
      '<!doctype html><html><head><script src="/tf.min.js"></script></head><body></body></html>',
    );
    const site = await staticServer({
      '/': html,
      '/tf.min.js': tfjs,
      ...Object.fromEntries(written.map((f) => [`/model/${f}`, path.join(exported, f)])),
    });
    try {
      const bare = await browser.newPage();
      await bare.goto(site.url);
      const pixels = new Uint8Array(3 * model.imageBytes);
      for (const [i, file] of files.slice(0, 3).entries())
        pixels.set(await model.decode(file), i * model.imageBytes);
      const inBrowser = await bare.evaluate(
        async ({ values }) => {
          const { tf } = globalThis as unknown as PageGlobals;
          const graph = await tf.loadGraphModel('/model/model.json');
          const output = graph.execute(tf.tensor4d(values, [3, 16, 16, 3])) as tfjs.Tensor;
          return { backend: tf.getBackend(), values: Array.from(await output.data()) };
        },
        { values: Array.from(pixels) },
      );
      await bare.close();
      const inNode = model.embedMixed(pixels, new Int32Array(3).fill(model.taskIndex('colour')));
      assert.equal(inBrowser.values.length, inNode.length);
      const gap = Math.max(...inNode.map((v, i) => Math.abs(v - inBrowser.values[i]!)));
      assert.ok(gap < 1e-4, `largest difference ${gap} on the ${inBrowser.backend} backend`);
    } finally {
      site.server.close();
    }
  });
});
