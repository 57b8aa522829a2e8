/** What `mtlzoo index info` shows: an index's provenance and contents, and whether it still checks out. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isMtlzooError } from '../errors.js';
import { galleryDrift, listGallery, type GalleryDrift } from './gallery.js';
import { IndexFolder } from './index-folder.js';
import { readManifest, type IndexManifest } from './manifest.js';

export interface IndexInfo {
  readonly dir: string;
  readonly manifest: IndexManifest;
  /** Bytes of the vector and graph files. */
  readonly bytes: number;
  /** Why the files fail their checks, or undefined when every sha256 matches. */
  readonly integrityProblem: string | undefined;
  readonly drift: GalleryDrift;
  /** Images under the gallery root that the index does not hold (0 when the root is gone). */
  readonly notIndexed: number;
}

export async function inspectIndex(dir: string): Promise<IndexInfo> {
  const root = path.resolve(dir);
  const manifest = await readManifest(root);
  let integrityProblem: string | undefined;
  try {
    (await IndexFolder.open(root, { checkGallery: false })).dispose();
  } catch (error) {
    if (!isMtlzooError(error)) throw error;
    integrityProblem = error.message;
  }
  const stored = manifest.tasks.flatMap((t) => [t.vectors.file, ...(t.hnsw ? [t.hnsw.file] : [])]);
  const sizes = await Promise.all(
    stored.map((f) =>
      fs.stat(path.join(root, f)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  const drift = await galleryDrift(manifest.gallery.root, manifest.gallery.files);
  const indexed = new Set([
    ...manifest.gallery.files.map((f) => f.path),
    ...manifest.gallery.skipped.map((s) => s.path),
  ]);
  const onDisk = await listGallery(manifest.gallery.root).catch(() => [] as string[]);
  return {
    dir: root,
    manifest,
    bytes: sizes.reduce((a, b) => a + b, 0),
    integrityProblem,
    drift,
    notIndexed: onDisk.filter((p) => !indexed.has(p)).length,
  };
}
