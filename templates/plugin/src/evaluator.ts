/**
 * example-evaluator: mean reciprocal rank per task and over the tasks. Each labelled image of the split
 * queries the others under its task; its score is 1 / the rank of the nearest image with its label (ties
 * count against it). Images labelled -1 for a task take no part in it.
 */
import { definePlugin, z, type EvaluationContext, type Metric } from 'mtlzoo';

/** Reciprocal ranks summed over the queries of one task, and how many queries had a relevant image. */
async function taskReciprocalRanks(context: EvaluationContext, task: number): Promise<[number, number]> {
  const labels = context.dataset.splits[context.split].labels[task]!;
  const images = Int32Array.from(labels.keys()).filter((i) => labels[i]! >= 0);
  const d = context.embeddingDim;
  const embeddings = await context.embed(task, images);
  const distance = (a: number, b: number) => {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += (embeddings[a * d + j]! - embeddings[b * d + j]!) ** 2;
    return sum;
  };
  let total = 0;
  let queries = 0;
  for (let q = 0; q < images.length; q++) {
    const label = labels[images[q]!];
    const others = [...images.keys()].filter((g) => g !== q);
    const nearest = Math.min(
      ...others.filter((g) => labels[images[g]!] === label).map((g) => distance(q, g)),
    );
    if (!Number.isFinite(nearest)) continue; // no other image with this label
    const closerOrTied = others.filter(
      (g) => labels[images[g]!] !== label && distance(q, g) <= nearest,
    ).length;
    total += 1 / (1 + closerOrTied);
    queries += 1;
  }
  return [total, queries];
}

export const exampleEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'example-evaluator',
  version: '0.1.0',
  description: 'Mean reciprocal rank of the nearest same-label image, per task and averaged',
  options: z.strictObject({}),
  create: () => ({
    metricNames: ['mrr'],
    async evaluate(context: EvaluationContext): Promise<Metric[]> {
      const perTask: Metric[] = [];
      for (const [t, task] of context.dataset.tasks.entries()) {
        const [total, queries] = await taskReciprocalRanks(context, t);
        if (queries > 0)
          perTask.push({ name: 'mrr', task: task.name, value: total / queries, higherIsBetter: true });
      }
      const mean = perTask.reduce((sum, m) => sum + m.value, 0) / perTask.length;
      return [
        ...perTask,
        { name: 'mrr', value: perTask.length > 0 ? mean : Number.NaN, higherIsBetter: true },
      ];
    },
  }),
});
