/**
 * Retrieval per task: every labelled image of the split is in the gallery (images labelled -1 for the task
 * are left out entirely); up to `maxQueries` of them, chosen with the evaluator's seed, query it. A query's
 * relevant items are the other gallery images with its label; the query itself is never in its own ranked
 * list. Queries with no relevant item are skipped and reported as `skipped-queries`. AP@k uses the
 * min(k, #relevant) denominator and ties rank pessimistically (src/metrics/retrieval.ts).
 */
import { z } from 'zod';
import type { EvaluationContext, Metric } from '../../src/kinds/index.js';
import { rankTopK, retrievalAtK } from '../../src/metrics/index.js';
import { definePlugin } from '../../src/plugin/define.js';
import * as tf from '../../src/tf.js';
import { Rng } from '../../src/util/random.js';

/** Query × gallery distances held at once (16 MB of float32), so a 20k gallery costs ~200 rows a chunk. */
const CHUNK_ELEMENTS = 1 << 22;

interface Options {
  readonly k: readonly number[];
  readonly maxQueries: number | null;
  readonly seed: number;
}

/** Per k: AP, precision and recall of every evaluated query, in query order. */
interface TaskTotals {
  readonly scores: { ap: number[]; precision: number[]; recall: number[] }[];
  evaluated: number;
  skipped: number;
}

/** Squared Euclidean distances from gallery rows `rows` to the whole gallery, row-major `[rows, G]`. */
async function distanceChunk(
  gallery: tf.Tensor2D,
  norms: tf.Tensor1D,
  rows: Int32Array,
): Promise<Float32Array> {
  const distances = tf.tidy(() => {
    const queries = tf.gather(gallery, rows);
    const cross = tf.matMul(queries, gallery, false, true);
    const queryNorms = tf.expandDims(tf.gather(norms, rows), 1);
    return tf.relu(tf.sub(tf.add(queryNorms, tf.expandDims(norms, 0)), tf.mul(cross, 2)));
  });
  try {
    return (await distances.data()) as Float32Array;
  } finally {
    distances.dispose();
  }
}

async function evaluateTask(context: EvaluationContext, task: number, options: Options): Promise<TaskTotals> {
  const labels = context.dataset.splits[context.split].labels[task]!;
  const totals: TaskTotals = {
    scores: options.k.map(() => ({ ap: [], precision: [], recall: [] })),
    evaluated: 0,
    skipped: 0,
  };
  const galleryImages = Int32Array.from(labels.keys()).filter((i) => labels[i] !== -1);
  const size = galleryImages.length;
  if (size === 0) return totals;
  const galleryLabels = galleryImages.map((i) => labels[i]!);
  const labelCounts = new Map<number, number>();
  for (const label of galleryLabels) labelCounts.set(label, (labelCounts.get(label) ?? 0) + 1);

  const taskName = context.dataset.tasks[task]!.name;
  const positions = Rng.derive(options.seed, `retrieval/${taskName}`).shuffle(
    Array.from({ length: size }, (_, i) => i),
  );
  const queries = Int32Array.from(positions.slice(0, options.maxQueries ?? size)).sort();

  const maxK = Math.max(...options.k);
  const relevant = new Uint8Array(size);
  const embeddings = await context.embed(task, galleryImages);
  const gallery = tf.tensor2d(embeddings, [size, context.embeddingDim]);
  const norms = tf.tidy(() => tf.sum(tf.square(gallery), 1) as tf.Tensor1D);
  try {
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / size));
    for (let start = 0; start < queries.length; start += rowsPerChunk) {
      const rows = queries.subarray(start, start + rowsPerChunk);
      const distances = await distanceChunk(gallery, norms, rows);
      rows.forEach((query, r) => {
        const label = galleryLabels[query]!;
        const relevantCount = labelCounts.get(label)! - 1;
        if (relevantCount === 0) {
          totals.skipped += 1;
          return;
        }
        for (let g = 0; g < size; g++) relevant[g] = galleryLabels[g] === label ? 1 : 0;
        const ranked = rankTopK(distances.subarray(r * size, (r + 1) * size), relevant, maxK, query);
        options.k.forEach((k, i) => {
          const scores = retrievalAtK(ranked, relevantCount, k);
          const kept = totals.scores[i]!;
          kept.ap.push(scores.averagePrecision);
          kept.precision.push(scores.precision);
          kept.recall.push(scores.recall);
        });
        totals.evaluated += 1;
      });
    }
  } finally {
    gallery.dispose();
    norms.dispose();
  }
  return totals;
}

export const retrievalEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'retrieval',
  version: '1.0.0',
  description: 'mAP@k, precision@k and recall@k per task (same label = relevant), and averaged over tasks',
  options: z.strictObject({
    k: z
      .array(z.number().int().positive())
      .min(1)
      .default([1, 10, 50])
      .transform((ks) => [...new Set(ks)].sort((a, b) => a - b)),
    /** Queries per task, drawn with `seed` from the labelled images; null queries with every one. */
    maxQueries: z.number().int().positive().nullable().default(1000),
    seed: z.number().int().nonnegative().default(0),
  }),
  create: (options) => ({
    metricNames: options.k.flatMap((k) => [`mAP@${k}`, `precision@${k}`, `recall@${k}`]),
    async evaluate(context: EvaluationContext): Promise<Metric[]> {
      const perTask: Metric[] = [];
      const means = new Map<string, number[]>();
      for (const [t, info] of context.dataset.tasks.entries()) {
        const totals = await evaluateTask(context, t, options);
        options.k.forEach((k, i) => {
          const kept = totals.scores[i]!;
          // NaN when no query of the task could be scored: there is no score to report, and 0 would lie.
          for (const [name, samples] of [
            [`mAP@${k}`, kept.ap],
            [`precision@${k}`, kept.precision],
            [`recall@${k}`, kept.recall],
          ] as const) {
            const value = samples.reduce((a, b) => a + b, 0) / totals.evaluated;
            perTask.push({ name, task: info.name, value, higherIsBetter: true, samples });
            means.set(name, [...(means.get(name) ?? []), value]);
          }
        });
        perTask.push({
          name: 'skipped-queries',
          task: info.name,
          value: totals.skipped,
          higherIsBetter: false,
        });
      }
      // Over the tasks that could be scored: which those are depends on the data, not on the method, so the
      // average still compares methods; NaN only when no task could be scored at all.
      const averaged = [...means].map(([name, values]): Metric => {
        const scored = values.filter((v) => Number.isFinite(v));
        const value = scored.length > 0 ? scored.reduce((a, b) => a + b, 0) / scored.length : Number.NaN;
        return { name, value, higherIsBetter: true };
      });
      return [...perTask, ...averaged];
    },
  }),
});
