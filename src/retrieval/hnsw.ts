/**
 * Approximate search: HNSW graphs from USearch (`usearch`, prebuilt N-API binaries for Linux and macOS on
 * x64 and arm64, so nothing compiles on install). Keys are the index's stable entry ids; distances are
 * squared L2, as in exact search. Why USearch and not hnswlib-node: docs/retrieval.md.
 */
import type usearch from 'usearch';
import { MtlzooError } from '../errors.js';

type Usearch = typeof usearch;
type UsearchIndex = InstanceType<Usearch['Index']>;

export interface HnswSettings {
  /** Neighbours per node (HNSW's M). */
  readonly connectivity: number;
  /** Candidates kept while inserting (efConstruction). */
  readonly expansionAdd: number;
  /** Candidates kept while searching (efSearch): recall against speed. */
  readonly expansionSearch: number;
}

export const HNSW_DEFAULTS: HnswSettings = { connectivity: 16, expansionAdd: 128, expansionSearch: 64 };

let library: { lib: Usearch } | { reason: string } | undefined;

async function loadLibrary(): Promise<{ lib: Usearch } | { reason: string }> {
  if (library) return library;
  try {
    const lib = (await import('usearch')).default;
    new lib.Index({ ...config(4, HNSW_DEFAULTS) });
    library = { lib };
  } catch (error) {
    library = { reason: `usearch failed to load: ${(error as Error).message.split('\n')[0]}` };
  }
  return library;
}

/** Why HNSW search cannot run here, or undefined when it can. */
export async function hnswUnavailableReason(): Promise<string | undefined> {
  const state = await loadLibrary();
  return 'reason' in state ? state.reason : undefined;
}

async function requireLibrary(): Promise<Usearch> {
  const state = await loadLibrary();
  if ('reason' in state) {
    throw new MtlzooError('USAGE', `approximate (HNSW) search is unavailable: ${state.reason}`, 1);
  }
  return state.lib;
}

function config(dim: number, settings: HnswSettings) {
  return {
    dimensions: dim,
    metric: 'l2sq',
    quantization: 'f32',
    connectivity: settings.connectivity,
    expansion_add: settings.expansionAdd,
    expansion_search: settings.expansionSearch,
    multi: false,
  } as unknown as ConstructorParameters<Usearch['Index']>[0] & object;
}

/** Results of a batch: row-major `[queries, k]` ids (−1 where fewer than k were found) and distances. */
export interface GraphMatches {
  readonly k: number;
  readonly ids: Float64Array;
  readonly distances: Float32Array;
}

export class HnswGraph {
  private constructor(
    private readonly index: UsearchIndex,
    readonly dim: number,
    readonly settings: HnswSettings,
  ) {}

  static async create(dim: number, settings: HnswSettings): Promise<HnswGraph> {
    const lib = await requireLibrary();
    return new HnswGraph(new lib.Index(config(dim, settings)), dim, settings);
  }

  /** A saved graph, read into memory (or mapped, with `mapped`, which leaves the file in use). */
  static async load(file: string, dim: number, settings: HnswSettings, mapped = false): Promise<HnswGraph> {
    const graph = await HnswGraph.create(dim, settings);
    if (mapped) graph.index.view(file);
    else graph.index.load(file);
    if (graph.index.dimensions() !== dim) {
      throw new MtlzooError(
        'INDEX_INVALID',
        `${file}: HNSW graph of dimension ${graph.index.dimensions()}, expected ${dim}`,
      );
    }
    return graph;
  }

  get size(): number {
    return this.index.size();
  }

  add(ids: readonly number[], vectors: Float32Array): void {
    if (ids.length === 0) return;
    this.index.add(BigUint64Array.from(ids, BigInt), vectors, 0);
  }

  remove(ids: readonly number[]): void {
    if (ids.length > 0) this.index.remove(BigUint64Array.from(ids, BigInt));
  }

  search(queries: Float32Array, k: number): GraphMatches {
    const count = queries.length / this.dim;
    const ids = new Float64Array(count * k).fill(-1);
    const distances = new Float32Array(count * k).fill(Infinity);
    if (count === 0 || this.size === 0) return { k, ids, distances };
    const found = this.index.search(queries, k, 0) as {
      keys: BigUint64Array;
      distances: Float32Array;
      counts?: BigUint64Array;
    };
    for (let q = 0; q < count; q++) {
      // One query comes back as its matches alone; a batch as k slots per query and a count.
      const n = found.counts ? Number(found.counts[q]) : found.keys.length;
      const from = found.counts ? q * k : 0;
      for (let i = 0; i < n; i++) {
        ids[q * k + i] = Number(found.keys[from + i]!);
        distances[q * k + i] = found.distances[from + i]!;
      }
    }
    return { k, ids, distances };
  }

  save(file: string): void {
    this.index.save(file);
  }
}
