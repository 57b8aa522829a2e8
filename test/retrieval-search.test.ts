import { strict as assert } from 'node:assert';
import { exactEngine, exactSearch, type ExactEngineName } from '../src/retrieval/exact.js';
import { HnswGraph, HNSW_DEFAULTS } from '../src/retrieval/hnsw.js';
import { TopK } from '../src/retrieval/topk.js';
import { VectorMatrix, normaliseRows } from '../src/retrieval/vectors.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

function randomRows(count: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return normaliseRows(
    Float32Array.from({ length: count * dim }, () => rng.normal()),
    dim,
  );
}

/** Clustered unit vectors, shaped like real embeddings (low intrinsic dimension). */
function clusteredRows(count: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 20 }, () => Array.from({ length: dim }, () => rng.normal()));
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const centre = centres[rng.int(centres.length)]!;
    for (let j = 0; j < dim; j++) out[i * dim + j] = centre[j]! + 0.3 * rng.normal();
  }
  return normaliseRows(out, dim);
}

/** The k nearest rows by a float64 loop over every pair, ties by index: the independent reference. */
function bruteForce(gallery: Float32Array, queries: Float32Array, dim: number, k: number) {
  const count = queries.length / dim;
  const rows = gallery.length / dim;
  return Array.from({ length: count }, (_, q) => {
    const all = Array.from({ length: rows }, (_, r) => {
      let d = 0;
      for (let j = 0; j < dim; j++) d += (gallery[r * dim + j]! - queries[q * dim + j]!) ** 2;
      return { index: r, distance: d };
    });
    all.sort((a, b) => a.distance - b.distance || a.index - b.index);
    return all.slice(0, k);
  });
}

const ENGINES: ExactEngineName[] = exactEngine().name === 'native' ? ['native', 'tfjs'] : ['tfjs'];

describe('retrieval search', () => {
  describe('partial top-k', () => {
    it('keeps the k smallest in order, ties by index, and pads with -1', () => {
      const dist = new Float32Array(4);
      const index = new Int32Array(4);
      const top = new TopK(4, dist, index);
      const values = [5, 1, 3, 1, 9, 0.5];
      values.forEach((v, i) => {
        if (v < top.threshold()) top.push(v, i);
      });
      top.finish();
      assert.deepEqual([...index], [5, 1, 3, 2]);
      assert.deepEqual([...dist], [0.5, 1, 1, 3]);
      const [d, i] = [new Float32Array(3), new Int32Array(3)];
      const padded = new TopK(3, d, i);
      padded.push(2, 7);
      padded.finish(0.5);
      assert.deepEqual([...i], [7, -1, -1]);
      assert.deepEqual([...d], [2.5, Infinity, Infinity]);
    });
  });

  for (const engine of ENGINES) {
    describe(`exact search (${engine})`, () => {
      // 37 queries share the queries out between threads; a single one shares out the gallery instead.
      for (const queryCount of [37, 1]) {
        it(`finds the same neighbours and distances as a float64 loop over every pair (${queryCount === 1 ? 'one query' : `${queryCount} queries`})`, () => {
          const dim = 24;
          // Not unit rows, and more rows than one block of the tfjs engine.
          const gallery = Float32Array.from(randomRows(4500, dim, 1), (v, i) => v * (1 + (i % 7) / 10));
          const queries = randomRows(queryCount, dim, 2);
          const k = 10;
          const found = exactSearch(new VectorMatrix(gallery, dim), queries, k, engine);
          const expected = bruteForce(gallery, queries, dim, k);
          expected.forEach((rows, q) => {
            rows.forEach((row, i) => {
              const at = q * k + i;
              assert.ok(
                Math.abs(found.distances[at]! - row.distance) < 1e-4,
                `query ${q} rank ${i}: ${found.distances[at]} vs ${row.distance}`,
              );
              // Neighbours may swap only where distances tie to float32 rounding.
              if (found.indices[at] !== row.index) {
                const next = rows[i + 1] ?? rows[i - 1]!;
                assert.ok(Math.abs(row.distance - next.distance) < 1e-5, `query ${q} rank ${i}: not a tie`);
              }
            });
          });
        });
      }

      it('breaks exact ties by gallery index wherever the tied rows lie', () => {
        const dim = 16;
        const gallery = randomRows(4500, dim, 4);
        const query = gallery.slice(4000 * dim, 4001 * dim);
        // Copies of the query at both ends of the gallery, on either side of any split between threads.
        for (const at of [3000, 100, 2100]) gallery.set(query, at * dim);
        for (const k of [2, 3, 5]) {
          const found = exactSearch(new VectorMatrix(gallery, dim), query, k, engine);
          assert.deepEqual(
            [...found.indices.slice(0, Math.min(k, 4))],
            [100, 2100, 3000, 4000].slice(0, k),
            `k ${k}`,
          );
        }
      });

      it('returns a gallery row as its own nearest neighbour at distance 0 and pads short galleries', () => {
        const dim = 8;
        const gallery = randomRows(5, dim, 3);
        const matrix = new VectorMatrix(gallery, dim);
        const found = exactSearch(matrix, gallery.slice(2 * dim, 3 * dim), 7, engine);
        assert.equal(found.indices[0], 2);
        assert.ok(found.distances[0]! < 1e-6);
        assert.deepEqual([...found.indices.slice(5)], [-1, -1]);
        assert.deepEqual([...found.distances.slice(5)], [Infinity, Infinity]);
        matrix.dispose();
      });
    });
  }

  it('keeps no tensors after tfjs searches', () => {
    const matrix = new VectorMatrix(randomRows(300, 16, 4), 16);
    exactSearch(matrix, randomRows(3, 16, 5), 5, 'tfjs');
    const before = tf.memory().numTensors;
    exactSearch(matrix, randomRows(3, 16, 6), 5, 'tfjs');
    assert.equal(tf.memory().numTensors, before);
    matrix.dispose();
    assert.equal(tf.memory().numTensors, before - 1);
  });

  it('HNSW finds at least 95 % of the exact top 10 on clustered vectors, keyed by id', async () => {
    const dim = 32;
    const count = 3000;
    const gallery = clusteredRows(count, dim, 7);
    const ids = Array.from({ length: count }, (_, i) => 1000 + 3 * i);
    const graph = await HnswGraph.create(dim, { ...HNSW_DEFAULTS, expansionSearch: 128 });
    graph.add(ids, gallery);
    assert.equal(graph.size, count);
    const queries = clusteredRows(100, dim, 8);
    const exact = exactSearch(new VectorMatrix(gallery, dim), queries, 10);
    const found = graph.search(queries, 10);
    let hits = 0;
    for (let q = 0; q < 100; q++) {
      const truth = new Map(
        Array.from(exact.indices.subarray(q * 10, q * 10 + 10), (r, i) => [
          ids[r]!,
          exact.distances[q * 10 + i]!,
        ]),
      );
      for (let i = q * 10; i < q * 10 + 10; i++) {
        const distance = truth.get(found.ids[i]!);
        if (distance === undefined) continue;
        hits++;
        // Distances are squared L2, as exact search gives.
        assert.ok(Math.abs(found.distances[i]! - distance) < 1e-4, `${found.distances[i]} vs ${distance}`);
      }
    }
    assert.ok(hits / 1000 >= 0.95, `recall@10 ${hits / 1000}`);
    graph.remove([ids[0]!]);
    const self = graph.search(gallery.slice(0, dim), 1);
    assert.notEqual(self.ids[0], ids[0]);
  });
});
