/**
 * Building an index from a run and a gallery folder (embed-gallery.ts), with an HNSW graph per task when
 * the gallery is large enough or one is asked for (hnsw-build.ts), and changing it incrementally: `add`
 * and `remove` leave an index whose files, rows and exact results equal a fresh build of the same gallery.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MtlzooError } from '../errors.js';
import type { Logger } from '../plugin/types.js';
import { formatDuration } from '../util/eta.js';
import { keyHash } from '../util/hash.js';
import { embedGallery, type EmbedOptions, type EmbeddedGallery } from './embed-gallery.js';
import { describeFiles, expandGalleryArguments, listGallery } from './gallery.js';
import { DEFAULT_TARGET_RECALL, finishGraph, newGraph, wantsGraphs, type AnnOptions } from './hnsw-build.js';
import { IndexFolder, writeIndex, type TaskContent } from './index-folder.js';
import {
  INDEX_FORMAT,
  MANIFEST_FILE,
  type GalleryFile,
  type IndexManifest,
  type ManifestBody,
} from './manifest.js';
import { GALLERY_FIT, type RunModel } from './model.js';
import { VectorMatrix } from './vectors.js';

export type { AnnChoice, AnnOptions } from './hnsw-build.js';

export interface BuildIndexOptions extends EmbedOptions {
  readonly gallery: string;
  readonly out: string;
  /** Task names (default: every task of the run). */
  readonly tasks?: readonly string[];
  readonly ann?: AnnOptions;
}

/** Where `index build` puts an index by default: inside the run, named by the gallery folder. */
export function defaultIndexDir(runDir: string, gallery: string): string {
  const root = path.resolve(gallery);
  return path.join(path.resolve(runDir), 'index', `${path.basename(root)}-${keyHash(root).slice(0, 8)}`);
}

/** The folder an index may be written to: absent, empty, or an index already (which is replaced). */
async function checkOutput(out: string): Promise<void> {
  const entries = await fs.readdir(out).catch(() => [] as string[]);
  if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
    throw new MtlzooError('USAGE', `--out: ${out} exists and is not an index folder; pick another`, 2);
  }
}

function runRecord(model: RunModel): ManifestBody['run'] {
  const { dir, checkpoint, weightsSha256, configHash, method, backbone, tasks } = model.identity;
  return { dir, checkpoint, weightsSha256, configHash, method, backbone, tasks: [...tasks] };
}

function sharedStages(model: RunModel, sharedPrefix: boolean | undefined): number {
  const dependence = model.taskDependence;
  return (sharedPrefix ?? true) && dependence.from === 'features' ? dependence.sharedStages : 0;
}

function summarise(log: Logger, action: string, embedded: EmbeddedGallery, tasks: number): void {
  const images = embedded.kept.length;
  log.info(
    `${action} ${images} images under ${tasks} task${tasks === 1 ? '' : 's'} in ${formatDuration(embedded.seconds * 1000)} (${(images / Math.max(embedded.seconds, 1e-9)).toFixed(1)} images/s)`,
  );
  if (embedded.skipped.length > 0) {
    log.warn(`skipped ${embedded.skipped.length} image(s) that could not be read:`);
    for (const s of embedded.skipped) log.warn(`  ${s.path}: ${s.reason}`);
  }
}

export async function buildIndex(model: RunModel, options: BuildIndexOptions): Promise<IndexManifest> {
  const root = path.resolve(options.gallery);
  const out = path.resolve(options.out);
  const names = options.tasks ?? model.identity.tasks;
  const taskIndices = names.map((name) => model.taskIndex(name));
  await checkOutput(out);
  const paths = await listGallery(root);
  if (paths.length === 0)
    throw new MtlzooError('USAGE', `--gallery: no .jpg, .png or .webp images in ${root}`, 2);
  const described = await describeFiles(root, paths);
  const embedded = await embedGallery(model, root, paths, taskIndices, options);
  summarise(options.log, 'embedded', embedded, names.length);
  if (embedded.kept.length === 0) {
    throw new MtlzooError(
      'DATA_INVALID',
      `--gallery: none of the ${paths.length} images in ${root} could be read`,
    );
  }
  const files: GalleryFile[] = embedded.kept.map((position, id) => ({ id, ...described[position]! }));
  const ids = files.map((f) => f.id);
  const graphs = await wantsGraphs(options.ann, files.length, options.log);
  const tasks: TaskContent[] = [];
  for (const [t, name] of names.entries()) {
    const vectors = embedded.vectors[t]!;
    const matrix = new VectorMatrix(vectors, model.embeddingDim);
    const hnsw = graphs ? await newGraph(out, matrix, ids, options.ann, name, options.log) : undefined;
    tasks.push({ name, vectors, ...(hnsw ? { hnsw } : {}) });
  }
  const now = new Date().toISOString();
  return writeIndex(
    out,
    {
      format: INDEX_FORMAT,
      generatedBy: 'mtlzoo index build',
      createdAt: now,
      updatedAt: now,
      run: runRecord(model),
      model: {
        inputShape: [...model.inputShape] as [number, number, 3],
        embeddingDim: model.embeddingDim,
        fit: GALLERY_FIT,
      },
      distance: 'squared-l2',
      gallery: { root, nextId: files.length, files, skipped: embedded.skipped },
      build: {
        backend: model.backend.name,
        sharedStages: sharedStages(model, options.sharedPrefix),
        seconds: embedded.seconds,
      },
    },
    tasks,
  );
}

export interface ChangeReport {
  readonly manifest: IndexManifest;
  readonly added: readonly string[];
  readonly replaced: readonly string[];
  readonly unchanged: readonly string[];
  readonly removed: readonly string[];
}

/** The rows of `ids`, in that order, gathered by id from `sources`. */
function gatherRows(
  ids: readonly number[],
  dim: number,
  sources: ReadonlyMap<number, Float32Array>,
): Float32Array {
  const out = new Float32Array(ids.length * dim);
  ids.forEach((id, row) => out.set(sources.get(id)!, row * dim));
  return out;
}

/**
 * Rewrites an index with `files` (path order): each task's rows gathered by id, graphs updated in place
 * (ids removed, ids added) and re-tuned.
 */
async function rewrite(
  index: IndexFolder,
  files: GalleryFile[],
  fresh: ReadonlyMap<string, ReadonlyMap<number, Float32Array>>,
  removedIds: readonly number[],
  extra: Partial<Omit<ManifestBody, 'tasks'>>,
  ann: AnnOptions | undefined,
  log: Logger,
): Promise<IndexManifest> {
  const dim = index.manifest.model.embeddingDim;
  const ids = files.map((f) => f.id);
  const tasks: TaskContent[] = [];
  for (const entry of index.manifest.tasks) {
    const old = index.vectors(entry.name);
    const sources = new Map<number, Float32Array>();
    index.files.forEach((f, row) => sources.set(f.id, old.row(row)));
    const added = fresh.get(entry.name) ?? new Map<number, Float32Array>();
    for (const [id, vector] of added) sources.set(id, vector);
    const vectors = gatherRows(ids, dim, sources);
    let hnsw: TaskContent['hnsw'];
    const loaded = index.graph(entry.name);
    if (loaded) {
      const graph = await loaded;
      graph.remove(removedIds);
      const addedIds = [...added.keys()];
      graph.add(addedIds, gatherRows(addedIds, dim, added));
      const target = ann?.targetRecall ?? DEFAULT_TARGET_RECALL;
      hnsw = await finishGraph(
        index.dir,
        graph,
        new VectorMatrix(vectors, dim),
        ids,
        target,
        entry.name,
        log,
      );
    }
    tasks.push({ name: entry.name, vectors, ...(hnsw ? { hnsw } : {}) });
  }
  const { checksum: _checksum, tasks: _tasks, ...body } = index.manifest;
  return writeIndex(
    index.dir,
    {
      ...body,
      ...extra,
      gallery: { ...body.gallery, ...extra.gallery, files },
      updatedAt: new Date().toISOString(),
    },
    tasks,
  );
}

function byPath(a: GalleryFile, b: GalleryFile): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Adds gallery files (or folders of them) to an index; files already indexed with the same content are
 * left alone, changed ones are embedded again. The model must be the one the index was built with.
 */
export async function addToIndex(
  model: RunModel,
  dir: string,
  inputs: readonly string[],
  options: EmbedOptions & { ann?: AnnOptions },
): Promise<ChangeReport> {
  const index = await IndexFolder.open(dir, { checkGallery: false });
  try {
    index.assertSameRun(model.identity);
    const root = index.manifest.gallery.root;
    const paths = await expandGalleryArguments(root, inputs);
    const described = await describeFiles(root, paths);
    const current = new Map(index.files.map((f) => [f.path, f]));
    const unchanged = described.filter((d) => current.get(d.path)?.sha256 === d.sha256);
    const todo = described.filter((d) => current.get(d.path)?.sha256 !== d.sha256);
    const taskIndices = index.tasks.map((name) => model.taskIndex(name, 'index task'));
    const embedded = await embedGallery(
      model,
      root,
      todo.map((d) => d.path),
      taskIndices,
      options,
    );
    summarise(options.log, 'embedded', embedded, taskIndices.length);
    let nextId = index.manifest.gallery.nextId;
    const incoming = embedded.kept.map((position) => ({ id: nextId++, ...todo[position]! }));
    const replacedIds = incoming.flatMap((f) => {
      const old = current.get(f.path);
      return old ? [old.id] : [];
    });
    const replacing = new Set(incoming.map((f) => f.path));
    const files = [...index.files.filter((f) => !replacing.has(f.path)), ...incoming].sort(byPath);
    const fresh = new Map(
      index.tasks.map((name, t) => [
        name,
        new Map(
          incoming.map((f, i) => [
            f.id,
            embedded.vectors[t]!.subarray(i * model.embeddingDim, (i + 1) * model.embeddingDim),
          ]),
        ),
      ]),
    );
    const skippedNow = new Set(embedded.skipped.map((s) => s.path));
    const skipped = [
      ...index.manifest.gallery.skipped.filter((s) => !replacing.has(s.path) && !skippedNow.has(s.path)),
      ...embedded.skipped,
    ];
    const manifest = await rewrite(
      index,
      files,
      fresh,
      replacedIds,
      { gallery: { ...index.manifest.gallery, nextId, skipped, files } },
      options.ann,
      options.log,
    );
    return {
      manifest,
      added: incoming.filter((f) => !current.has(f.path)).map((f) => f.path),
      replaced: incoming.filter((f) => current.has(f.path)).map((f) => f.path),
      unchanged: unchanged.map((d) => d.path),
      removed: [],
    };
  } finally {
    index.dispose();
  }
}

/** Removes gallery files (or folders of them, which need not exist any more) from an index. */
export async function removeFromIndex(
  dir: string,
  inputs: readonly string[],
  options: { log: Logger; ann?: AnnOptions },
): Promise<ChangeReport> {
  const index = await IndexFolder.open(dir, { checkGallery: false });
  try {
    const root = index.manifest.gallery.root;
    const targets = new Set<string>();
    const unknown: string[] = [];
    for (const input of inputs) {
      const resolved = path.resolve(input);
      const relative = path.relative(root, resolved).split(path.sep).join('/');
      const matches = index.files.filter(
        (f) => f.path === relative || f.path.startsWith(`${relative}/`) || relative === '',
      );
      if (relative.startsWith('..') || matches.length === 0) unknown.push(input);
      for (const f of matches) targets.add(f.path);
    }
    if (unknown.length > 0) {
      throw new MtlzooError(
        'USAGE',
        `not in the index ${index.dir} (gallery ${root}): ${unknown.join(', ')}; nothing was removed`,
        2,
      );
    }
    const removed = index.files.filter((f) => targets.has(f.path));
    const files = index.files.filter((f) => !targets.has(f.path));
    if (files.length === 0) {
      throw new MtlzooError(
        'USAGE',
        `removing ${removed.length} files would leave ${index.dir} empty; nothing was removed`,
        2,
      );
    }
    const manifest = await rewrite(
      index,
      files,
      new Map(),
      removed.map((f) => f.id),
      {},
      options.ann,
      options.log,
    );
    return { manifest, added: [], replaced: [], unchanged: [], removed: removed.map((f) => f.path) };
  } finally {
    index.dispose();
  }
}
