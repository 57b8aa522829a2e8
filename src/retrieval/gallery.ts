/** Gallery folders: which files are images, how each is recorded in an index, and what changed since. */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MtlzooError } from '../errors.js';
import { mapLimit } from '../util/concurrency.js';
import type { GalleryFile } from './manifest.js';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** Files read at once while hashing or checking a gallery. */
const IO_CONCURRENCY = 16;

export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase());
}

/** `file` relative to `root` with forward slashes; refuses files outside the root. */
export function galleryPath(root: string, file: string): string {
  const relative = path.relative(root, path.resolve(file));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new MtlzooError('USAGE', `${file} is not inside the gallery folder ${root}`, 2);
  }
  return relative.split(path.sep).join('/');
}

export function absoluteGalleryPath(root: string, relative: string): string {
  return path.join(root, ...relative.split('/'));
}

/** Every image under `root` (recursively), as gallery paths in sorted order. */
export async function listGallery(root: string): Promise<string[]> {
  const stat = await fs.stat(root).catch(() => undefined);
  if (!stat?.isDirectory()) throw new MtlzooError('USAGE', `--gallery: ${root} is not a readable folder`, 2);
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && isImageFile(e.name))
    .map((e) => galleryPath(root, path.join(e.parentPath, e.name)))
    .sort();
}

/**
 * Expands command-line paths (files or folders, relative to the working directory) to gallery paths of
 * image files, sorted and without repeats.
 */
export async function expandGalleryArguments(root: string, inputs: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const input of inputs) {
    const stat = await fs.stat(input).catch(() => undefined);
    if (stat?.isDirectory()) {
      const prefix = path.resolve(input) === path.resolve(root) ? '' : `${galleryPath(root, input)}/`;
      for (const file of await listGallery(path.resolve(input))) out.add(`${prefix}${file}`);
    } else {
      out.add(galleryPath(root, input));
    }
  }
  return [...out].sort();
}

async function hashFile(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** Size, time and content hash of gallery files (the id is the index's to give). */
export async function describeFiles(
  root: string,
  paths: readonly string[],
): Promise<Omit<GalleryFile, 'id'>[]> {
  return mapLimit(paths, IO_CONCURRENCY, async (relative) => {
    const file = absoluteGalleryPath(root, relative);
    const [stat, sha256] = await Promise.all([fs.stat(file), hashFile(file)]);
    return { path: relative, size: stat.size, mtimeMs: stat.mtimeMs, sha256 };
  });
}

export interface GalleryDrift {
  /** Files whose content differs from what was indexed. */
  readonly changed: readonly string[];
  /** Indexed files that are gone. */
  readonly missing: readonly string[];
}

/**
 * Compares indexed files with the disk: a file whose size and time are unchanged is taken as unchanged;
 * otherwise its content hash decides (a file touched but not edited is still current).
 */
export async function galleryDrift(root: string, files: readonly GalleryFile[]): Promise<GalleryDrift> {
  const states = await mapLimit(files, IO_CONCURRENCY, async (entry) => {
    const file = absoluteGalleryPath(root, entry.path);
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) return 'missing' as const;
    if (stat.size === entry.size && stat.mtimeMs === entry.mtimeMs) return 'same' as const;
    return (await hashFile(file)) === entry.sha256 ? ('same' as const) : ('changed' as const);
  });
  return {
    changed: files.filter((_, i) => states[i] === 'changed').map((f) => f.path),
    missing: files.filter((_, i) => states[i] === 'missing').map((f) => f.path),
  };
}
