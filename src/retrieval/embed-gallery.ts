/**
 * Embedding gallery images for an index: decoded concurrently with the forward passes, in batches, under
 * every task of the index (the method's shared prefix once per image when it declares one); images that
 * cannot be decoded are skipped and listed.
 */
import type { Logger } from '../plugin/types.js';
import { formatDuration } from '../util/eta.js';
import { absoluteGalleryPath } from './gallery.js';
import type { RunModel } from './model.js';

export const EMBED_BATCH = 64;

export interface EmbedOptions {
  /** Run the method's shared prefix once for all tasks (default true). */
  readonly sharedPrefix?: boolean;
  readonly batch?: number;
  readonly log: Logger;
}

export interface EmbeddedGallery {
  /** Per task, row-major embeddings of the images that decoded, in input order. */
  readonly vectors: Float32Array[];
  /** Positions (in the input list) of the images embedded. */
  readonly kept: number[];
  readonly skipped: { path: string; reason: string }[];
  readonly seconds: number;
}

/**
 * Embeds gallery images under `tasks`, `batch` at a time, decoding the next batch while the current one
 * runs; images that fail to decode are skipped and listed. Reports progress (images/s, ETA) on `log`.
 */
export async function embedGallery(
  model: RunModel,
  root: string,
  paths: readonly string[],
  tasks: readonly number[],
  options: EmbedOptions,
): Promise<EmbeddedGallery> {
  const batch = options.batch ?? EMBED_BATCH;
  const dim = model.embeddingDim;
  const start = performance.now();
  const decodeBatch = (from: number) =>
    Promise.allSettled(
      paths.slice(from, from + batch).map((p) => model.decode(absoluteGalleryPath(root, p))),
    );
  const perTask = tasks.map(() => [] as Float32Array[]);
  const kept: number[] = [];
  const skipped: EmbeddedGallery['skipped'] = [];
  let next = paths.length > 0 ? decodeBatch(0) : undefined;
  for (let from = 0; from < paths.length; from += batch) {
    const decoded = await next!;
    next = from + batch < paths.length ? decodeBatch(from + batch) : undefined;
    const good: Uint8Array[] = [];
    decoded.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        good.push(result.value);
        kept.push(from + i);
      } else {
        const reason = (result.reason as Error).message.split('\n')[0] ?? String(result.reason);
        skipped.push({ path: paths[from + i]!, reason });
      }
    });
    if (good.length > 0) {
      const pixels = new Uint8Array(good.length * model.imageBytes);
      good.forEach((image, i) => pixels.set(image, i * model.imageBytes));
      const embeddings = model.embedUnderTasks(pixels, tasks, options.sharedPrefix ?? true);
      embeddings.forEach((e, t) => perTask[t]!.push(e));
    }
    const done = Math.min(from + batch, paths.length);
    const elapsed = performance.now() - start;
    const rate = done / (elapsed / 1000);
    options.log.progress(
      `embedding ${done}/${paths.length} images  ${rate.toFixed(1)} images/s  ETA ${formatDuration(((paths.length - done) / rate) * 1000)}`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  const vectors = perTask.map((parts) => {
    const out = new Float32Array(kept.length * dim);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  });
  return { vectors, kept, skipped, seconds };
}
