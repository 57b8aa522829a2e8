/**
 * Triplet accuracy per task and averaged over tasks: the fraction of triplets whose positive is strictly
 * nearer the anchor than the negative (ties count as wrong, see src/metrics/triplet.ts). Uses the split's
 * fixed triplets where the protocol has them; otherwise a fixed set drawn from labels with the evaluator's
 * own seed, so every method and run is scored on the same triplets.
 */
import { z } from 'zod';
import { boundedInt, MAX_DRAWN_TRIPLETS_PER_TASK } from '../../src/config/bounds.js';
import type { EvaluationContext, Metric, TaskInfo } from '../../src/kinds/index.js';
import { squaredDistance, tripletOutcomes } from '../../src/metrics/index.js';
import { MtlzooError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin/define.js';
import { LabelTriplets, type TripletArrays } from '../../src/train/sampler.js';
import { Rng } from '../../src/util/random.js';

const METRIC = 'triplet-accuracy';

function drawnTriplets(labels: Int32Array, task: TaskInfo, seed: number, count: number): TripletArrays {
  const out = {
    anchor: new Int32Array(count),
    positive: new Int32Array(count),
    negative: new Int32Array(count),
  };
  new LabelTriplets(labels, task.name, task.anchorLabels).draw(
    Rng.derive(seed, `triplet-accuracy/${task.name}`),
    count,
    out,
    0,
  );
  return out;
}

function fixedTriplets(flat: Int32Array, taskName: string): TripletArrays {
  const n = flat.length / 3;
  if (n < 1 || !Number.isInteger(n)) {
    throw new MtlzooError(
      'DATA_INVALID',
      `task "${taskName}" has a fixed triplet list of ${flat.length} values`,
    );
  }
  const pick = (offset: number) => Int32Array.from({ length: n }, (_, i) => flat[3 * i + offset]!);
  return { anchor: pick(0), positive: pick(1), negative: pick(2) };
}

/** Per triplet, 1 when it is ordered right and 0 when not. */
async function taskOutcomes(
  context: EvaluationContext,
  task: number,
  triplets: TripletArrays,
): Promise<number[]> {
  // Embed each image once: rows of `embeddings` follow `images`.
  const images = Int32Array.from(new Set([...triplets.anchor, ...triplets.positive, ...triplets.negative]));
  const row = new Map<number, number>();
  images.forEach((image, i) => row.set(image, i));
  const embeddings = await context.embed(task, images);
  const dim = context.embeddingDim;
  const n = triplets.anchor.length;
  const toPositive = new Float64Array(n);
  const toNegative = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = row.get(triplets.anchor[i]!)!;
    toPositive[i] = squaredDistance(embeddings, a, embeddings, row.get(triplets.positive[i]!)!, dim);
    toNegative[i] = squaredDistance(embeddings, a, embeddings, row.get(triplets.negative[i]!)!, dim);
  }
  return Array.from(tripletOutcomes(toPositive, toNegative));
}

export const tripletAccuracyEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'triplet-accuracy',
  version: '1.0.0',
  description: 'Fraction of triplets with d(a,p) < d(a,n) (ties wrong), per task and averaged over tasks',
  options: z.strictObject({
    /** Triplets per task when drawn from labels (tasks without a fixed list). */
    tripletsPerTask: boundedInt(1, MAX_DRAWN_TRIPLETS_PER_TASK, 'triplets per task').default(1000),
    /** Seed of the drawn triplets; fixed by default so all runs share them. */
    seed: z.number().int().nonnegative().default(0),
  }),
  create: (options) => ({
    metricNames: [METRIC],
    async evaluate(context: EvaluationContext): Promise<Metric[]> {
      const { dataset } = context;
      const split = dataset.splits[context.split];
      const metrics: Metric[] = [];
      for (const [t, info] of dataset.tasks.entries()) {
        const fixed = split.triplets?.[t];
        const triplets = fixed
          ? fixedTriplets(fixed, info.name)
          : drawnTriplets(split.labels[t]!, info, options.seed, options.tripletsPerTask);
        const samples = await taskOutcomes(context, t, triplets);
        const value = samples.reduce((a, b) => a + b, 0) / samples.length;
        metrics.push({ name: METRIC, task: info.name, value, higherIsBetter: true, samples });
      }
      const mean = metrics.reduce((sum, m) => sum + m.value, 0) / metrics.length;
      metrics.push({ name: METRIC, value: mean, higherIsBetter: true });
      return metrics;
    },
  }),
});
