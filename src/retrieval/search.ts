/** Searching an opened index under a task, exactly or through its HNSW graph, with hits named by file. */
import { MtlzooError } from '../errors.js';
import { exactSearch } from './exact.js';
import { absoluteGalleryPath } from './gallery.js';
import type { IndexFolder } from './index-folder.js';

/** `auto`: the task's HNSW graph when the index has one, exact search otherwise. */
export type SearchMode = 'auto' | 'exact' | 'hnsw';
export const SEARCH_MODES: readonly SearchMode[] = ['auto', 'exact', 'hnsw'];

export interface SearchHit {
  readonly rank: number;
  /** The gallery file's stable id in the index. */
  readonly id: number;
  /** Relative to the gallery root. */
  readonly path: string;
  readonly file: string;
  /** Squared L2 distance between normalised embeddings (0 to 4). */
  readonly distance: number;
}

export interface SearchResult {
  readonly mode: 'exact' | 'hnsw';
  /** Per query, its hits nearest first. */
  readonly hits: SearchHit[][];
}

/** Searches row-major `queries` (L2-normalised embeddings) under `task` for the `k` nearest gallery files. */
export async function searchIndex(
  index: IndexFolder,
  task: string,
  queries: Float32Array,
  k: number,
  mode: SearchMode = 'auto',
): Promise<SearchResult> {
  const entry = index.task(task);
  const matrix = index.vectors(task);
  if (queries.length % matrix.dim !== 0) {
    throw new MtlzooError('USAGE', `query vectors must have ${matrix.dim} values each`, 2);
  }
  const count = queries.length / matrix.dim;
  const kept = Math.min(k, matrix.count);
  if (mode === 'hnsw' && !entry.hnsw) {
    throw new MtlzooError(
      'USAGE',
      `--mode hnsw: ${index.dir} has no HNSW graph for task ${task}; build the index with --ann hnsw`,
      2,
    );
  }
  const files = index.files;
  const root = index.manifest.gallery.root;
  const hit = (rank: number, row: number, distance: number): SearchHit => {
    const file = files[row]!;
    return { rank, id: file.id, path: file.path, file: absoluteGalleryPath(root, file.path), distance };
  };
  const graph = mode !== 'exact' ? index.graph(task) : undefined;
  if (graph) {
    const found = (await graph).search(queries, kept);
    const hits = Array.from({ length: count }, (_, q) => {
      const out: SearchHit[] = [];
      for (let i = 0; i < kept; i++) {
        const row = index.rowOf.get(found.ids[q * kept + i]!);
        if (row !== undefined) out.push(hit(out.length + 1, row, found.distances[q * kept + i]!));
      }
      return out;
    });
    return { mode: 'hnsw', hits };
  }
  const found = exactSearch(matrix, queries, kept);
  const hits = Array.from({ length: count }, (_, q) =>
    Array.from({ length: kept }, (_, i) =>
      hit(i + 1, found.indices[q * kept + i]!, found.distances[q * kept + i]!),
    ),
  );
  return { mode: 'exact', hits };
}
