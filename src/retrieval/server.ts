/**
 * The retrieval server (Fastify): search an index by an uploaded image, an embedding or a gallery item
 * under any of its tasks; list tasks; gallery thumbnails; health; the exported models the web page embeds
 * queries with in the browser; and the web page itself at `/`. Concurrent image queries are embedded in
 * one forward pass (EmbeddingBatcher). Request bodies and image sizes are limited; a bad request gets a
 * 4xx with a message, never a stack trace.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import sharp from 'sharp';
import { z } from 'zod';
import { isMtlzooError } from '../errors.js';
import type { Logger } from '../plugin/types.js';
import { EmbeddingBatcher } from './batcher.js';
import { exportArtifacts, type ExportedModel } from './export.js';
import { absoluteGalleryPath } from './gallery.js';
import type { IndexFolder } from './index-folder.js';
import type { RunModel } from './model.js';
import { searchIndex, SEARCH_MODES, type SearchHit } from './search.js';
import { normaliseRows } from './vectors.js';

export interface ServerOptions {
  readonly index: IndexFolder;
  /** The run's model, which embeds query images; the index must have been built with it. */
  readonly model: RunModel;
  readonly log: Logger;
  /** Largest upload (multipart image) in bytes; default 8 MiB. */
  readonly maxUploadBytes?: number;
  /** Largest decoded image in pixels (width × height); default 40 million. */
  readonly maxImagePixels?: number;
  /** Largest k a request may ask for; default 100. */
  readonly maxK?: number;
  /** How long the first query of a batch waits for others, in ms; default 5. */
  readonly batchWindowMs?: number;
  readonly maxBatch?: number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;
const THUMBNAIL_SIZE = 160;
const THUMBNAIL_CACHE = 4096;

/** The page's files: beside this module in the sources, and in src/ for the compiled package (dist/src/…). */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB_DIRS = [path.join(HERE, 'web'), path.join(HERE, '..', '..', '..', 'src', 'retrieval', 'web')];

async function webFile(file: string): Promise<Buffer> {
  for (const dir of WEB_DIRS) {
    const data = await fs.readFile(path.join(dir, file)).catch(() => undefined);
    if (data) return data;
  }
  throw new Error(`the web page's ${file} is missing from ${WEB_DIRS.join(' and ')}`);
}
const WEB_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
};

/** A request the client must change: answered with this status and message. */
class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

function tfjsBundle(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs/package.json')), 'dist', 'tf.min.js');
}

/** A least-recently-used cache of a bounded number of entries. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly limit: number) {}
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    this.map.set(key, value);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as K);
  }
}

export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const { index, model } = options;
  index.assertSameRun(model.identity);
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const maxImagePixels = options.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const maxK = options.maxK ?? 100;
  const dim = index.manifest.model.embeddingDim;
  const batcher = new EmbeddingBatcher(
    (pixels, taskIds) => model.embedMixed(pixels, taskIds),
    model.imageBytes,
    dim,
    { windowMs: options.batchWindowMs ?? 5, maxBatch: options.maxBatch ?? 32 },
  );
  const started = Date.now();
  const thumbnails = new Lru<number, Buffer>(THUMBNAIL_CACHE);
  const exported = new Map<string, ExportedModel>();
  const exportFor = (task: string): ExportedModel => {
    let artifacts = exported.get(task);
    if (!artifacts) {
      artifacts = exportArtifacts(model, { task });
      exported.set(task, artifacts);
    }
    return artifacts;
  };

  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  await app.register(multipart, {
    limits: { fileSize: maxUploadBytes, files: 1, fields: 8, fieldSize: 4096, parts: 10 },
  });
  app.addHook('onClose', async () => batcher.dispose());
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (error instanceof RequestError) return reply.code(error.statusCode).send({ error: error.message });
    if (isMtlzooError(error)) {
      const status = error.code === 'USAGE' || error.code === 'DATA_INVALID' ? 400 : 500;
      return reply.code(status).send({ error: error.message });
    }
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) options.log.warn(`server: ${error.stack ?? error.message}`);
    return reply.code(status).send({ error: error.message });
  });

  for (const [route, file] of Object.entries(WEB_FILES)) {
    app.get(route, async (_request, reply) =>
      reply.type(CONTENT_TYPES[path.extname(file)]!).send(await webFile(file)),
    );
  }
  app.get('/vendor/tf.min.js', async (_request, reply) =>
    reply
      .type(CONTENT_TYPES['.js']!)
      .header('cache-control', 'max-age=86400')
      .send(await fs.readFile(tfjsBundle())),
  );

  app.get('/health', async () => ({
    status: 'ok',
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
    index: index.dir,
    files: index.files.length,
    tasks: index.tasks,
    backend: model.backend.name,
    run: {
      dir: model.identity.dir,
      checkpoint: model.identity.checkpoint,
      weightsSha256: model.identity.weightsSha256,
    },
    batching: { ...batcher.stats },
  }));

  app.get('/tasks', async () => ({
    tasks: index.manifest.tasks.map((t) => ({
      name: t.name,
      search: t.hnsw ? 'hnsw' : 'exact',
      ...(t.hnsw ? { recallAt10: t.hnsw.recallAt10 } : {}),
    })),
    files: index.files.length,
    embeddingDim: dim,
    inputShape: model.inputShape,
    method: model.identity.method,
    maxK,
    maxUploadBytes,
    maxImagePixels,
  }));

  const galleryQuery = z.object({
    offset: z.coerce.number().int().nonnegative().default(0),
    limit: z.coerce.number().int().positive().max(500).default(60),
  });
  app.get('/gallery', async (request) => {
    const { offset, limit } = parse(galleryQuery, request.query);
    return {
      total: index.files.length,
      offset,
      items: index.files
        .slice(offset, offset + limit)
        .map((f) => ({ id: f.id, path: f.path, thumbnail: `/thumbnails/${f.id}` })),
    };
  });

  app.get<{ Params: { id: string } }>('/thumbnails/:id', async (request, reply) => {
    const id = Number(request.params.id);
    const row = Number.isInteger(id) ? index.rowOf.get(id) : undefined;
    if (row === undefined) throw new RequestError(404, `no gallery file with id ${request.params.id}`);
    let image = thumbnails.get(id);
    if (!image) {
      const file = absoluteGalleryPath(index.manifest.gallery.root, index.files[row]!.path);
      image = await sharp(file)
        .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'cover', kernel: 'nearest' })
        .webp({ quality: 85 })
        .toBuffer()
        .catch((error: Error) => {
          throw new RequestError(
            404,
            `gallery file ${index.files[row]!.path} cannot be read: ${error.message}`,
          );
        });
      thumbnails.set(id, image);
    }
    return reply.type('image/webp').header('cache-control', 'max-age=3600').send(image);
  });

  app.get<{ Params: { task: string; file: string } }>('/models/:task/:file', async (request, reply) => {
    const { task, file } = request.params;
    if (!index.tasks.includes(task))
      throw new RequestError(404, `no task ${task}; tasks: ${index.tasks.join(', ')}`);
    const artifacts = exportFor(task);
    if (file === 'model.json') return reply.type(CONTENT_TYPES['.json']!).send(artifacts.modelJson);
    const shard = artifacts.shards.get(file);
    if (!shard) throw new RequestError(404, `no file ${file} in the model of task ${task}`);
    return reply
      .type(CONTENT_TYPES['.bin']!)
      .send(Buffer.from(shard.buffer, shard.byteOffset, shard.byteLength));
  });

  const searchFields = z.object({
    task: z.string({ error: 'task: expected a task name' }),
    k: z.coerce.number().int().min(1).max(maxK).default(10),
    mode: z.enum(SEARCH_MODES as [string, ...string[]]).default('auto'),
  });
  const jsonQuery = searchFields.extend({
    embedding: z.array(z.number().finite()).length(dim, `embedding: expected ${dim} numbers`).optional(),
    id: z.number().int().nonnegative().optional(),
  });

  app.post('/search', async (request, reply: FastifyReply) => {
    const began = performance.now();
    let fields: z.output<typeof searchFields>;
    let query: Float32Array;
    let embeddedBy: 'server' | 'client' | 'index';
    if (request.isMultipart()) {
      const raw: Record<string, string> = {};
      let upload: Buffer | undefined;
      for await (const part of request.parts()) {
        if (part.type === 'file') upload = await part.toBuffer();
        else raw[part.fieldname] = String(part.value);
      }
      fields = parse(searchFields, raw);
      checkTask(fields.task);
      if (!upload || upload.length === 0)
        throw new RequestError(400, 'image: expected an image file in the form');
      const pixels = await decodeUpload(upload);
      query = await batcher.submit(pixels, model.taskIndex(fields.task, 'task'));
      embeddedBy = 'server';
    } else {
      const body = parse(jsonQuery, request.body ?? {});
      fields = body;
      checkTask(body.task);
      if ((body.embedding === undefined) === (body.id === undefined)) {
        throw new RequestError(
          400,
          'expected either embedding (numbers) or id (a gallery file id), or a multipart image',
        );
      }
      if (body.embedding) {
        // Normalised as the model's own embeddings are (all but CSN's unnormalised form).
        const given = Float32Array.from(body.embedding);
        query = model.model.embeddingNorm === 'none' ? given : normaliseRows(given, dim);
        embeddedBy = 'client';
      } else {
        const row = index.rowOf.get(body.id!);
        if (row === undefined) throw new RequestError(404, `no gallery file with id ${body.id}`);
        query = index.vectors(body.task).row(row).slice();
        embeddedBy = 'index';
      }
    }
    const result = await searchIndex(index, fields.task, query, fields.k, fields.mode as 'auto');
    return reply.send({
      task: fields.task,
      k: fields.k,
      mode: result.mode,
      embeddedBy,
      tookMs: Math.round((performance.now() - began) * 100) / 100,
      hits: result.hits[0]!.map((h: SearchHit) => ({
        rank: h.rank,
        id: h.id,
        path: h.path,
        distance: h.distance,
        thumbnail: `/thumbnails/${h.id}`,
      })),
    });
  });

  function checkTask(task: string): void {
    if (!index.tasks.includes(task)) {
      throw new RequestError(400, `task: expected one of ${index.tasks.join(', ')}, got "${task}"`);
    }
  }

  /** Checks the image's header against the size limit before decoding it. */
  async function decodeUpload(upload: Buffer): Promise<Uint8Array> {
    let width: number | undefined;
    let height: number | undefined;
    try {
      ({ width, height } = await sharp(upload).metadata());
    } catch (error) {
      throw new RequestError(
        400,
        `image: cannot read it (${(error as Error).message}); expected a JPEG, PNG or WebP`,
      );
    }
    if (!width || !height) throw new RequestError(400, 'image: it has no width and height');
    if (width * height > maxImagePixels) {
      throw new RequestError(
        413,
        `image: ${width}×${height} is ${(width * height).toLocaleString('en')} pixels, over the limit of ${maxImagePixels.toLocaleString('en')}`,
      );
    }
    try {
      return await model.decode(upload);
    } catch (error) {
      throw new RequestError(400, `image: cannot decode it (${(error as Error).message})`);
    }
  }

  return app;
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.join('.');
  throw new RequestError(
    400,
    where && !issue.message.startsWith(`${where}:`) ? `${where}: ${issue.message}` : issue.message,
  );
}

/** Starts the server; resolves with its address once it listens. */
export async function startServer(
  options: ServerOptions & { host?: string; port?: number },
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createServer(options);
  const url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
  return { app, url };
}
