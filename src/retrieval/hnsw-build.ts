/**
 * Building HNSW graphs for an index: when a gallery gets them, and efSearch tuned on the saved graph until
 * recall@10 against exact search reaches a target.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MtlzooError } from '../errors.js';
import type { Logger } from '../plugin/types.js';
import { Rng } from '../util/random.js';
import { ensureDir, tempPathFor } from '../util/write.js';
import { exactSearch } from './exact.js';
import { HNSW_DEFAULTS, HnswGraph, hnswUnavailableReason, type HnswSettings } from './hnsw.js';
import type { TaskContent } from './index-folder.js';
import type { VectorMatrix } from './vectors.js';

/** `auto`: an HNSW graph per task once the gallery has `threshold` images; `hnsw`: always; `none`: never. */
export type AnnChoice = 'auto' | 'hnsw' | 'none';

/** Gallery size from which `auto` builds HNSW graphs (docs/retrieval.md has the measurements behind it). */
export const ANN_AUTO_THRESHOLD = 200_000;
export const DEFAULT_TARGET_RECALL = 0.95;
/** efSearch values tried, smallest first, until recall@10 reaches the target. */
const EXPANSION_STEPS = [16, 32, 64, 128, 256, 512, 1024, 2048];
/** Gallery vectors used as queries when measuring recall. */
const RECALL_QUERIES = 1000;

export interface AnnOptions {
  readonly choice?: AnnChoice;
  readonly threshold?: number;
  readonly connectivity?: number;
  readonly expansionAdd?: number;
  /** Recall@10 against exact search that efSearch is raised to reach. */
  readonly targetRecall?: number;
}

/** k nearest neighbours of sampled gallery rows, themselves left out: the queries recall is measured on. */
function recallSample(matrix: VectorMatrix, ids: readonly number[], k: number) {
  const rng = new Rng(matrix.count);
  const rows = rng.shuffle([...Array(matrix.count).keys()]).slice(0, RECALL_QUERIES);
  const queries = new Float32Array(rows.length * matrix.dim);
  rows.forEach((row, i) => queries.set(matrix.row(row), i * matrix.dim));
  const exact = exactSearch(matrix, queries, k + 1);
  const truth = rows.map((row, q) =>
    Array.from(exact.indices.subarray(q * (k + 1), (q + 1) * (k + 1)))
      .filter((r) => r !== row && r >= 0)
      .slice(0, k)
      .map((r) => ids[r]!),
  );
  return { rows, queries, truth };
}

/**
 * Chooses efSearch for a saved graph: the smallest step whose recall@10 (against exact search, on up to
 * 1,000 gallery vectors as queries) reaches the target; the largest step when none does.
 */
async function tuneExpansion(
  file: string,
  matrix: VectorMatrix,
  ids: readonly number[],
  base: HnswSettings,
  target: number,
): Promise<{ expansionSearch: number; recallAt10: number; recallQueries: number }> {
  const k = Math.min(10, matrix.count - 1);
  if (k < 1) return { expansionSearch: base.expansionSearch, recallAt10: 1, recallQueries: 0 };
  const { rows, queries, truth } = recallSample(matrix, ids, k);
  let best = { expansionSearch: base.expansionSearch, recallAt10: 0, recallQueries: rows.length };
  for (const expansionSearch of EXPANSION_STEPS) {
    const graph = await HnswGraph.load(file, matrix.dim, { ...base, expansionSearch }, true);
    const found = graph.search(queries, k + 1);
    let hits = 0;
    rows.forEach((row, q) => {
      const wanted = new Set(truth[q]);
      const got = Array.from(found.ids.subarray(q * (k + 1), (q + 1) * (k + 1)))
        .filter((id) => id !== ids[row] && id >= 0)
        .slice(0, k);
      for (const id of got) if (wanted.has(id)) hits++;
    });
    best = { expansionSearch, recallAt10: hits / (rows.length * k), recallQueries: rows.length };
    if (best.recallAt10 >= target) break;
  }
  return best;
}

/** Whether a gallery of `size` images gets HNSW graphs under `ann`; refuses `hnsw` where USearch cannot load. */
export async function wantsGraphs(ann: AnnOptions | undefined, size: number, log: Logger): Promise<boolean> {
  const choice = ann?.choice ?? 'auto';
  if (choice === 'none') return false;
  if (choice === 'auto' && size < (ann?.threshold ?? ANN_AUTO_THRESHOLD)) return false;
  const reason = await hnswUnavailableReason();
  if (reason === undefined) return true;
  if (choice === 'hnsw') throw new MtlzooError('USAGE', `--ann hnsw: ${reason}`, 2);
  log.warn(`no HNSW graphs (exact search only): ${reason}`);
  return false;
}

/** Adds the gallery vectors to a graph (new or loaded), saves it to a temp file and tunes efSearch on it. */
export async function finishGraph(
  dir: string,
  graph: HnswGraph,
  matrix: VectorMatrix,
  ids: readonly number[],
  targetRecall: number,
  task: string,
  log: Logger,
): Promise<NonNullable<TaskContent['hnsw']>> {
  await ensureDir(dir);
  const temp = tempPathFor(path.join(dir, 'tune.usearch'));
  try {
    graph.save(temp);
    const tuned = await tuneExpansion(temp, matrix, ids, graph.settings, targetRecall);
    const settings = { ...graph.settings, expansionSearch: tuned.expansionSearch };
    log.info(
      `${task}: HNSW (M ${settings.connectivity}, efConstruction ${settings.expansionAdd}) recall@10 ${tuned.recallAt10.toFixed(3)} against exact search at efSearch ${settings.expansionSearch} (${tuned.recallQueries} queries)`,
    );
    return { graph, settings, recallAt10: tuned.recallAt10, recallQueries: tuned.recallQueries };
  } finally {
    await fs.rm(temp, { force: true });
  }
}

export async function newGraph(
  dir: string,
  matrix: VectorMatrix,
  ids: readonly number[],
  ann: AnnOptions | undefined,
  task: string,
  log: Logger,
) {
  const graph = await HnswGraph.create(matrix.dim, {
    connectivity: ann?.connectivity ?? HNSW_DEFAULTS.connectivity,
    expansionAdd: ann?.expansionAdd ?? HNSW_DEFAULTS.expansionAdd,
    expansionSearch: HNSW_DEFAULTS.expansionSearch,
  });
  graph.add(ids, matrix.data);
  return finishGraph(dir, graph, matrix, ids, ann?.targetRecall ?? DEFAULT_TARGET_RECALL, task, log);
}
