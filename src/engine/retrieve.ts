/**
 * Retrieval with a trained run: embed a folder of gallery images under one task (once; the index is cached
 * in the run directory, keyed by the checkpoint's weights and the gallery files' names, sizes and times),
 * then rank the gallery by distance to a query image.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeFile } from '../data/image.js';
import { writeFileAtomic } from '../util/write.js';
import { MtlzooError } from '../errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { MtlModel } from '../kinds/method.js';
import { selectBackend } from '../backend/select.js';
import * as tf from '../tf.js';
import { keyHash } from '../util/hash.js';
import { loadCheckpoint, readCheckpointMetadata } from './checkpoint.js';
import { normalisedEmbeddings } from './embedding.js';
import { EVAL_BATCH } from './evaluation.js';
import { pixelsToTensor } from './pixels.js';
import { loadRunConfig } from './run-config.js';
import { RunDir } from './run-dir.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

export interface RetrievalHit {
  readonly rank: number;
  readonly file: string;
  /** Squared L2 distance between normalised embeddings (0 to 4). */
  readonly distance: number;
}

export interface RetrievalResult {
  readonly task: string;
  readonly query: string;
  readonly gallerySize: number;
  /** Whether the gallery index came from the cache. */
  readonly indexReused: boolean;
  readonly indexFile: string;
  readonly hits: readonly RetrievalHit[];
}

export interface RetrieveOptions {
  runDir: string;
  task: string;
  query: string;
  gallery: string;
  k: number;
  checkpoint?: 'best' | 'last';
}

async function listImages(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => {
    throw new MtlzooError('USAGE', `--gallery: ${dir} is not a readable folder`, 2);
  });
  const files = entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
  if (files.length === 0)
    throw new MtlzooError('USAGE', `--gallery: no .jpg, .png or .webp images in ${dir}`, 2);
  return files;
}

async function decodeNamed(file: string, size: readonly [number, number]): Promise<Uint8Array> {
  try {
    return await decodeFile(file, size, 'cover');
  } catch (error) {
    throw new MtlzooError('DATA_INVALID', `${file}: cannot decode image: ${(error as Error).message}`);
  }
}

async function embedFiles(
  model: MtlModel,
  files: readonly string[],
  task: number,
  shape: readonly [number, number, number],
): Promise<Float32Array> {
  const out = new Float32Array(files.length * model.embeddingDim);
  for (let start = 0; start < files.length; start += EVAL_BATCH) {
    const chunk = files.slice(start, start + EVAL_BATCH);
    const decoded = await Promise.all(chunk.map((f) => decodeNamed(f, [shape[0], shape[1]])));
    const pixels = new Uint8Array(decoded.reduce((n, d) => n + d.length, 0));
    decoded.forEach((d, i) => pixels.set(d, i * d.length));
    const embeddings = tf.tidy(() =>
      normalisedEmbeddings(model, pixelsToTensor(pixels, shape), new Int32Array(chunk.length).fill(task), {
        training: false,
      }),
    );
    out.set(await embeddings.data(), start * model.embeddingDim);
    embeddings.dispose();
  }
  return out;
}

export async function retrieve(kernel: Kernel, options: RetrieveOptions): Promise<RetrievalResult> {
  const run = await RunDir.open(options.runDir);
  const loaded = await loadRunConfig(kernel, run);
  const which = await run.chooseCheckpoint(options.checkpoint ?? 'auto', loaded.config.train.evalEvery > 0);
  const checkpoint = run.path(which);
  const metadata = await readCheckpointMetadata(checkpoint);
  const task = metadata.tasks.indexOf(options.task);
  if (task < 0) {
    throw new MtlzooError(
      'USAGE',
      `--task: expected one of the run's tasks (${metadata.tasks.join(', ')}), got "${options.task}"`,
      2,
    );
  }
  await selectBackend(loaded.config.backend, kernel.registries);
  const backbone = await kernel.createBackbone(loaded.config);
  const model = await kernel.createModel(loaded.config, backbone, metadata.tasks.length);
  try {
    await loadCheckpoint(checkpoint, model.parameters());
    const shape = backbone.description.inputShape;
    const files = await listImages(path.resolve(options.gallery));
    const stats = await Promise.all(files.map((f) => fs.stat(f)));
    const key = keyHash([
      metadata.weightsSha256,
      options.task,
      files.map((f, i) => [f, stats[i]!.size, stats[i]!.mtimeMs]),
    ]);
    const indexFile = path.join(run.dir, 'index', `${options.task}-${key}.f32`);
    let gallery: Float32Array;
    let indexReused = true;
    try {
      const bytes = await fs.readFile(indexFile);
      gallery = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      if (gallery.length !== files.length * model.embeddingDim) throw new Error('stale index');
    } catch {
      indexReused = false;
      gallery = await embedFiles(model, files, task, shape);
      await writeFileAtomic(indexFile, new Uint8Array(gallery.buffer));
    }
    const query = await embedFiles(model, [path.resolve(options.query)], task, shape);
    const dim = model.embeddingDim;
    const distances = files.map((file, i) => {
      let d = 0;
      for (let j = 0; j < dim; j++) d += (gallery[i * dim + j]! - query[j]!) ** 2;
      return { file, distance: d };
    });
    distances.sort((a, b) => a.distance - b.distance || (a.file < b.file ? -1 : 1));
    return {
      task: options.task,
      query: path.resolve(options.query),
      gallerySize: files.length,
      indexReused,
      indexFile,
      hits: distances.slice(0, options.k).map((h, i) => ({ rank: i + 1, ...h })),
    };
  } finally {
    model.dispose();
  }
}
