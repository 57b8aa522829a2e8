/**
 * An index folder on disk: opening checks everything (manifest checksum, every vector and graph file
 * against its sha256, the gallery against the recorded sizes, times and hashes) before any search runs;
 * writing puts new content-named files beside the old ones and replaces the manifest last, so a reader
 * sees the old index or the new one, never a mix.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensureDir, fileError, removePath, syncFile, tempPathFor, writeFileAtomic } from '../util/write.js';
import { MtlzooError } from '../errors.js';
import { galleryDrift } from './gallery.js';
import { HnswGraph, type HnswSettings } from './hnsw.js';
import {
  MANIFEST_FILE,
  indexError,
  readManifest,
  sealManifest,
  sha256,
  type GalleryFile,
  type HnswEntry,
  type IndexManifest,
  type ManifestBody,
  type TaskEntry,
} from './manifest.js';
import type { RunIdentity } from './model.js';
import { VectorMatrix } from './vectors.js';

export interface OpenIndexOptions {
  /** Compare the gallery on disk with the manifest (default true); `index add` and `remove` repair drift. */
  checkGallery?: boolean;
}

/** Names at most `limit` items, then how many more. */
function listSome(items: readonly string[], limit = 5): string {
  return items.slice(0, limit).join(', ') + (items.length > limit ? ` and ${items.length - limit} more` : '');
}

export class IndexFolder {
  /** Row of each gallery file id. */
  readonly rowOf: ReadonlyMap<number, number>;
  private readonly graphs = new Map<string, Promise<HnswGraph>>();

  private constructor(
    readonly dir: string,
    readonly manifest: IndexManifest,
    private readonly matrices: ReadonlyMap<string, VectorMatrix>,
  ) {
    this.rowOf = new Map(manifest.gallery.files.map((f, row) => [f.id, row]));
  }

  static async open(dir: string, options: OpenIndexOptions = {}): Promise<IndexFolder> {
    const root = path.resolve(dir);
    const manifest = await readManifest(root);
    const dim = manifest.model.embeddingDim;
    const rows = manifest.gallery.files.length;
    const matrices = new Map<string, VectorMatrix>();
    for (const task of manifest.tasks) {
      const bytes = await readStored(root, task.vectors.file, task.vectors.sha256, 'vector file');
      if (bytes.byteLength !== rows * dim * 4) {
        throw indexError(
          root,
          `${task.vectors.file} holds ${bytes.byteLength} bytes, the manifest describes ${rows} rows of ${dim} floats`,
        );
      }
      // A view when the bytes are aligned for floats (large reads are), else a copy.
      const data =
        bytes.byteOffset % 4 === 0
          ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
          : new Float32Array(bytes.slice().buffer);
      matrices.set(task.name, new VectorMatrix(data, dim));
      if (task.hnsw) await readStored(root, task.hnsw.file, task.hnsw.sha256, 'HNSW graph');
    }
    if (options.checkGallery ?? true) {
      const drift = await galleryDrift(manifest.gallery.root, manifest.gallery.files);
      const problems: string[] = [];
      if (drift.changed.length > 0)
        problems.push(`${drift.changed.length} changed since indexed (${listSome(drift.changed)})`);
      if (drift.missing.length > 0)
        problems.push(`${drift.missing.length} missing (${listSome(drift.missing)})`);
      if (problems.length > 0) {
        throw indexError(
          root,
          `gallery files ${problems.join('; ')} under ${manifest.gallery.root}; update the index with mtlzoo index add ${root} <changed files> and mtlzoo index remove ${root} <missing files>, or rebuild it`,
        );
      }
    }
    return new IndexFolder(root, manifest, matrices);
  }

  get tasks(): string[] {
    return this.manifest.tasks.map((t) => t.name);
  }

  get files(): readonly GalleryFile[] {
    return this.manifest.gallery.files;
  }

  task(name: string, what = '--task'): TaskEntry {
    const entry = this.manifest.tasks.find((t) => t.name === name);
    if (!entry) {
      throw new MtlzooError(
        'USAGE',
        `${what}: expected a task of the index (${this.tasks.join(', ')}), got "${name}"`,
        2,
      );
    }
    return entry;
  }

  vectors(task: string): VectorMatrix {
    this.task(task);
    return this.matrices.get(task)!;
  }

  /** The task's HNSW graph, loaded once; undefined when the index has none for it. */
  graph(task: string): Promise<HnswGraph> | undefined {
    const entry = this.task(task).hnsw;
    if (!entry) return undefined;
    let graph = this.graphs.get(task);
    if (!graph) {
      graph = HnswGraph.load(path.join(this.dir, entry.file), this.manifest.model.embeddingDim, entry);
      this.graphs.set(task, graph);
    }
    return graph;
  }

  /** Refuses a model other than the one the index was built with (weights or config differ). */
  assertSameRun(run: RunIdentity): void {
    const built = this.manifest.run;
    if (built.weightsSha256 !== run.weightsSha256) {
      throw indexError(
        this.dir,
        `built with weights ${built.weightsSha256.slice(0, 16)} (${built.dir}, ${built.checkpoint}), but ${run.dir} (${run.checkpoint}) has weights ${run.weightsSha256.slice(0, 16)}: another run's model would embed queries differently; rebuild the index with this run or search with the run it was built with`,
      );
    }
    if (built.configHash !== run.configHash) {
      throw indexError(
        this.dir,
        `built under config ${built.configHash}, but ${run.dir} now has config ${run.configHash}`,
      );
    }
  }

  dispose(): void {
    for (const matrix of this.matrices.values()) matrix.dispose();
  }
}

async function readStored(dir: string, file: string, expected: string, what: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path.join(dir, file));
  } catch {
    throw indexError(dir, `${what} ${file} named by ${MANIFEST_FILE} is missing`);
  }
  if (sha256(bytes) !== expected) {
    throw indexError(
      dir,
      `${what} ${file} does not match the sha256 in ${MANIFEST_FILE}: it is corrupted; rebuild the index`,
    );
  }
  return bytes;
}

/** What one task of an index holds before it is written. */
export interface TaskContent {
  readonly name: string;
  readonly vectors: Float32Array;
  readonly hnsw?: {
    readonly graph: HnswGraph;
    readonly settings: HnswSettings;
    readonly recallAt10: number;
    readonly recallQueries: number;
  };
}

async function storeBytes(dir: string, folder: string, stem: string, ext: string, bytes: Uint8Array) {
  const hash = sha256(bytes);
  const file = `${folder}/${stem}-${hash.slice(0, 16)}${ext}`;
  await writeFileAtomic(path.join(dir, file), bytes);
  return { file, sha256: hash };
}

/** A graph under its content name: USearch saves it to a temp file, flushed, hashed, then renamed. */
async function storeGraph(dir: string, stem: string, graph: HnswGraph) {
  const folder = path.join(dir, 'hnsw');
  await ensureDir(folder);
  const temp = tempPathFor(path.join(folder, stem));
  try {
    graph.save(temp);
    await syncFile(temp);
    const hash = sha256(await fs.readFile(temp));
    const file = `hnsw/${stem}-${hash.slice(0, 16)}.usearch`;
    await fs.rename(temp, path.join(dir, file));
    return { file, sha256: hash };
  } catch (error) {
    throw await fileError('write', path.join(folder, `${stem}-….usearch`), error);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/**
 * Writes an index: each task's files under content names, then the sealed manifest, then removes files
 * of earlier versions that the new manifest does not name.
 */
export async function writeIndex(
  dir: string,
  body: Omit<ManifestBody, 'tasks'>,
  tasks: readonly TaskContent[],
): Promise<IndexManifest> {
  const root = path.resolve(dir);
  await ensureDir(root);
  const entries: TaskEntry[] = [];
  for (const [position, task] of tasks.entries()) {
    const bytes = new Uint8Array(task.vectors.buffer, task.vectors.byteOffset, task.vectors.byteLength);
    const vectors = await storeBytes(root, 'vectors', String(position), '.f32', bytes);
    let hnsw: HnswEntry | undefined;
    if (task.hnsw) {
      const stored = await storeGraph(root, String(position), task.hnsw.graph);
      const { connectivity, expansionAdd, expansionSearch } = task.hnsw.settings;
      hnsw = {
        ...stored,
        connectivity,
        expansionAdd,
        expansionSearch,
        recallAt10: task.hnsw.recallAt10,
        recallQueries: task.hnsw.recallQueries,
      };
    }
    entries.push({ name: task.name, vectors, ...(hnsw ? { hnsw } : {}) });
  }
  const manifest = sealManifest({ ...body, tasks: entries });
  await writeFileAtomic(path.join(root, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  const keep = new Set(entries.flatMap((e) => [e.vectors.file, ...(e.hnsw ? [e.hnsw.file] : [])]));
  for (const folder of ['vectors', 'hnsw']) {
    for (const name of await fs.readdir(path.join(root, folder)).catch(() => [] as string[])) {
      if (!keep.has(`${folder}/${name}`)) await removePath(path.join(root, folder, name));
    }
  }
  return manifest;
}
