/**
 * Exact k-nearest-neighbour search by squared L2 distance: blocked matrix products (scores of a block of
 * queries against a block of gallery rows) followed by a partial top-k per query; no full sort and no
 * per-pair loop in JavaScript. Two engines give the same neighbours:
 *
 * - `native`: the search addon built with the kernel pack (`npm run build:native`: oneDNN's sgemm and a C++
 *   top-k, queries split over all cores). Used when built, unless MTLZOO_NATIVE=0.
 * - `tfjs`: the products on the active TensorFlow.js backend, the top-k in JavaScript.
 */
import * as tf from '../tf.js';
import { loadNativeAddon } from '../util/native-addon.js';
import { TopK } from './topk.js';
import type { VectorMatrix } from './vectors.js';

/** The k nearest gallery rows of each query: row-major `[queries, k]`, index −1 (distance +∞) past the gallery. */
export interface Neighbours {
  readonly k: number;
  readonly indices: Int32Array;
  readonly distances: Float32Array;
}

export type ExactEngineName = 'native' | 'tfjs';

interface SearchAddon {
  exactSearch(
    gallery: Float32Array,
    norms: Float32Array,
    queries: Float32Array,
    dim: number,
    k: number,
    outDist: Float32Array,
    outIndex: Int32Array,
    threads: number,
  ): void;
}

let addon: { addon: SearchAddon } | { reason: string } | undefined;

function loadAddon(): { addon: SearchAddon } | { reason: string } {
  addon ??= loadNativeAddon<SearchAddon>('mtlzoo_search.node', ['exactSearch']);
  return addon;
}

/** The engine `auto` uses here, and why the native one is not used when it is not. */
export function exactEngine(): { name: ExactEngineName; reason?: string } {
  const state = loadAddon();
  return 'addon' in state
    ? { name: 'native' }
    : { name: 'tfjs', reason: `${state.reason}; run npm run build:native` };
}

/** Gallery rows per matrix product on the tfjs engine. */
const TFJS_BLOCK = 4096;

function checkArguments(gallery: VectorMatrix, queries: Float32Array, k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (queries.length % gallery.dim !== 0) {
    throw new RangeError(`${queries.length} query floats are not whole rows of ${gallery.dim}`);
  }
  return queries.length / gallery.dim;
}

export function exactSearch(
  gallery: VectorMatrix,
  queries: Float32Array,
  k: number,
  engine: ExactEngineName | 'auto' = 'auto',
): Neighbours {
  const count = checkArguments(gallery, queries, k);
  const distances = new Float32Array(count * k);
  const indices = new Int32Array(count * k);
  const chosen = engine === 'auto' ? exactEngine().name : engine;
  if (chosen === 'native') {
    const state = loadAddon();
    if (!('addon' in state)) throw new Error(state.reason);
    state.addon.exactSearch(gallery.data, gallery.norms, queries, gallery.dim, k, distances, indices, 0);
  } else {
    tfjsSearch(gallery, queries, count, k, distances, indices);
  }
  return { k, indices, distances };
}

function tfjsSearch(
  gallery: VectorMatrix,
  queries: Float32Array,
  count: number,
  k: number,
  distances: Float32Array,
  indices: Int32Array,
): void {
  const tops = Array.from(
    { length: count },
    (_, q) => new TopK(k, distances.subarray(q * k, (q + 1) * k), indices.subarray(q * k, (q + 1) * k)),
  );
  const norms = gallery.norms;
  const queryTensor = tf.tensor2d(queries, [count, gallery.dim]);
  try {
    let first = 0;
    for (const block of gallery.transposedBlocks(TFJS_BLOCK)) {
      const columns = block.shape[1];
      const product = tf.matMul(queryTensor, block);
      const scores = product.dataSync();
      product.dispose();
      for (let q = 0; q < count; q++) {
        const top = tops[q]!;
        const row = q * columns;
        let threshold = top.threshold();
        for (let j = 0; j < columns; j++) {
          const d = norms[first + j]! - 2 * scores[row + j]!;
          if (d < threshold) {
            top.push(d, first + j);
            threshold = top.threshold();
          }
        }
      }
      first += columns;
    }
  } finally {
    queryTensor.dispose();
  }
  for (let q = 0; q < count; q++) {
    let squared = 0;
    for (let j = q * gallery.dim; j < (q + 1) * gallery.dim; j++) squared += queries[j]! * queries[j]!;
    tops[q]!.finish(squared);
  }
}
