/**
 * The decoded-image cache: one uint8 file per split, keyed by a hash of the sources (for files: path, size
 * and modification time) and the decoding options, built once (temp file, then rename) and reused by
 * later runs. Images are stored back to back from offset 0; a JSON trailer records the key and which
 * sources were skipped, so a reopened cache rebuilds the same split without decoding anything. A temp
 * left by a run killed mid-decode is removed by the next open.
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../plugin/types.js';
import { keyHash } from '../util/hash.js';
import { ioReason, removeOrphanTemps, tempPathFor } from '../util/write.js';
import { dataError, ensureWritableDirectory } from './files.js';
import { imageBytes, type ImageSize } from './image.js';
import { FileImageStore } from './store.js';

export const ON_BAD_IMAGE = ['fail', 'skip'] as const;
export type OnBadImage = (typeof ON_BAD_IMAGE)[number];

/** Bumped whenever the bytes a key produces change, so old caches are never read as new ones. */
const CACHE_FORMAT = 'mtlzoo-decoded-images/1';
const MAGIC = 'MTLZIMG1';
const CHUNK = 16;
const EXTENSION = '.u8';
export const CACHE_DIR_HINT = 'set output.cacheDir to a writable folder';

export interface CacheRequest {
  readonly cacheDir: string;
  /** Readable prefix of the file name, e.g. `celeba-train`. */
  readonly name: string;
  /** Everything besides size and count that determines the decoded bytes (sources, fit, generator…). */
  readonly key: unknown;
  readonly size: ImageSize;
  readonly count: number;
  /** Pixels of source `index`; throws with a reason for a missing or corrupt image. */
  produce(index: number): Promise<Uint8Array>;
  /** Where source `index` comes from, for messages. */
  source(index: number): string;
  readonly onBadImage: OnBadImage;
  readonly log: Logger;
}

export interface CachedImages {
  readonly store: FileImageStore;
  /** Source indices left out under `onBadImage: skip`, ascending; the store holds the others in order. */
  readonly skipped: readonly number[];
  /** True when an existing cache file was used without decoding anything. */
  readonly reused: boolean;
}

interface Trailer {
  format: string;
  hash: string;
  stored: number;
  skipped: number[];
}

export function cacheHash(request: Pick<CacheRequest, 'key' | 'size' | 'count'>): string {
  return keyHash({ format: CACHE_FORMAT, key: request.key, size: request.size, count: request.count });
}

export function cacheFilePath(
  request: Pick<CacheRequest, 'cacheDir' | 'name' | 'key' | 'size' | 'count'>,
): string {
  return path.join(request.cacheDir, `${request.name}-${cacheHash(request)}${EXTENSION}`);
}

async function readTrailer(file: string, bytesPerImage: number): Promise<Trailer | undefined> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    if (size < 12) return undefined;
    const tail = Buffer.alloc(12);
    await handle.read(tail, 0, 12, size - 12);
    if (tail.toString('latin1', 4) !== MAGIC) return undefined;
    const length = tail.readUInt32LE(0);
    if (length > size - 12) return undefined;
    const json = Buffer.alloc(length);
    await handle.read(json, 0, length, size - 12 - length);
    const trailer = JSON.parse(json.toString('utf8')) as Trailer;
    if (trailer.stored * bytesPerImage + length + 12 !== size) return undefined;
    return trailer;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/** Opens the split's cache file if it matches the request, otherwise decodes every source into a new one. */
export async function openImageCache(request: CacheRequest): Promise<CachedImages> {
  const bytesPerImage = imageBytes(request.size);
  const hash = cacheHash(request);
  const file = cacheFilePath(request);
  await removeInterrupted(request);
  const existing = await readTrailer(file, bytesPerImage);
  if (existing && existing.format === CACHE_FORMAT && existing.hash === hash) {
    request.log.info(`${request.name}: using decoded-image cache ${file}`);
    reportSkipped(
      request,
      existing.skipped.map((i) => `${request.source(i)}: bad image when the cache was built`),
      file,
    );
    return {
      store: new FileImageStore(file, existing.stored, bytesPerImage),
      skipped: existing.skipped,
      reused: true,
    };
  }
  if (existing !== undefined || (await fs.stat(file).catch(() => undefined))) {
    request.log.warn(`${request.name}: cache file ${file} does not match its key; rebuilding it`);
  }
  const { stored, skipped } = await buildCache(request, file, hash, bytesPerImage);
  return { store: new FileImageStore(file, stored, bytesPerImage), skipped, reused: false };
}

/** Temps of caches whose build was killed (Ctrl-C, out of memory) are as large as the cache: remove them. */
async function removeInterrupted(request: CacheRequest): Promise<void> {
  const removed = await removeOrphanTemps(request.cacheDir);
  for (const { file, bytes } of removed) {
    request.log.warn(
      `${request.name}: removed ${file} (${(bytes / 2 ** 20).toFixed(1)} MiB), left by an interrupted decode`,
    );
  }
}

async function buildCache(
  request: CacheRequest,
  file: string,
  hash: string,
  bytesPerImage: number,
): Promise<{ stored: number; skipped: number[] }> {
  const { count, log, name } = request;
  await ensureWritableDirectory(request.cacheDir, 'the decoded-image cache folder', CACHE_DIR_HINT);
  const temp = tempPathFor(file);
  const handle = await fs.open(temp, 'w').catch((error: unknown) => {
    throw dataError(`${temp}: cannot create the decoded-image cache: ${ioReason(error)} (${CACHE_DIR_HINT})`);
  });
  const skipped: number[] = [];
  const reasons: string[] = [];
  const started = Date.now();
  let stored = 0;
  try {
    for (let start = 0; start < count; start += CHUNK) {
      const indices = Array.from({ length: Math.min(CHUNK, count - start) }, (_, k) => start + k);
      const results = await Promise.allSettled(indices.map((i) => request.produce(i)));
      for (let k = 0; k < indices.length; k++) {
        const result = results[k]!;
        const index = indices[k]!;
        if (result.status === 'fulfilled') {
          if (result.value.length !== bytesPerImage) {
            throw new Error(
              `${request.source(index)}: produced ${result.value.length} bytes, expected ${bytesPerImage}`,
            );
          }
          await writeAt(handle, temp, result.value, stored * bytesPerImage);
          stored++;
          continue;
        }
        const reason = `${request.source(index)}: ${(result.reason as Error).message}`;
        if (request.onBadImage === 'fail') {
          throw dataError(`${reason} (set onBadImage: skip to leave bad images out)`);
        }
        skipped.push(index);
        reasons.push(reason);
      }
      log.progress(`${name}: decoding images ${Math.min(start + CHUNK, count)}/${count}`);
    }
    if (count > 0 && stored === 0) throw dataError(`${name}: every image is bad; first: ${reasons[0]}`);
    const trailer: Trailer = { format: CACHE_FORMAT, hash, stored, skipped };
    const json = Buffer.from(JSON.stringify(trailer), 'utf8');
    const tail = Buffer.alloc(12);
    tail.writeUInt32LE(json.length, 0);
    tail.write(MAGIC, 4, 'latin1');
    await writeAt(handle, temp, Buffer.concat([json, tail]), stored * bytesPerImage);
    await handle.close();
    await fs.rename(temp, file).catch((error: unknown) => {
      throw dataError(`${file}: cannot finish the decoded-image cache: ${ioReason(error)}`);
    });
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw error;
  }
  reportSkipped(request, reasons, file);
  log.info(
    `${name}: decoded ${stored} images into ${file} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return { stored, skipped };
}

async function writeAt(handle: FileHandle, temp: string, data: Uint8Array, position: number) {
  await handle.write(data, 0, data.length, position).catch((error: unknown) => {
    throw dataError(`${temp}: cannot write the decoded-image cache: ${ioReason(error)}`);
  });
}

/**
 * Skipped images are never silent: a warning under `skip`, an error under `fail` (also for a reused
 * cache). Each names the image; a repaired or replaced image changes the cache key, so the next run
 * decodes it again.
 */
function reportSkipped(request: CacheRequest, reasons: readonly string[], cacheFile: string): void {
  if (reasons.length === 0) return;
  const shown =
    reasons.slice(0, 5).join('; ') + (reasons.length > 5 ? `; and ${reasons.length - 5} more` : '');
  const advice =
    `fix, replace or remove the image file(s) named; a changed file is decoded again on the next run ` +
    `(the cache is ${cacheFile})`;
  if (request.onBadImage === 'fail') {
    throw dataError(
      `${request.name}: ${reasons.length} bad image(s): ${shown}. Set onBadImage: skip to leave them out, or ${advice}`,
    );
  }
  request.log.warn(
    `${request.name}: skipped ${reasons.length} bad image(s) of ${request.count}: ${shown}. To use them, ${advice}`,
  );
}
