/**
 * Evaluation: embeds split images under each task on demand (once per image and task) and hands the
 * evaluators an EvaluationContext. Evaluators never touch the model.
 */
import type { Dataset, SplitName } from '../kinds/dataset.js';
import type { EvaluationContext, Metric } from '../kinds/evaluator.js';
import type { MtlModel } from '../kinds/method.js';
import type { NamedEvaluator } from '../kernel/kernel.js';
import * as tf from '../tf.js';
import { normalisedEmbeddings } from './embedding.js';
import { pixelsToTensor } from './pixels.js';

/** Images embedded per forward pass in evaluation. */
export const EVAL_BATCH = 64;

export class SplitEmbedder implements EvaluationContext {
  readonly embeddingDim: number;
  /** Per task: embeddings of all split images (rows filled on demand) and which rows are filled. */
  private readonly rows = new Map<number, { values: Float32Array; filled: Uint8Array }>();
  /** Wall time and count of embedded images, for the per-image embedding cost. */
  embedMilliseconds = 0;
  embeddedImages = 0;

  constructor(
    private readonly model: MtlModel,
    readonly dataset: Dataset,
    readonly split: SplitName,
  ) {
    this.embeddingDim = model.embeddingDim;
  }

  get report() {
    return this.model.report();
  }

  async embed(task: number, indices: Int32Array): Promise<Float32Array> {
    const size = this.dataset.splits[this.split].size;
    let table = this.rows.get(task);
    if (!table) {
      table = { values: new Float32Array(size * this.embeddingDim), filled: new Uint8Array(size) };
      this.rows.set(task, table);
    }
    const missing = [...new Set(Array.from(indices).filter((i) => !table.filled[i]))].sort((a, b) => a - b);
    for (let start = 0; start < missing.length; start += EVAL_BATCH) {
      const chunk = missing.slice(start, start + EVAL_BATCH);
      const embedded = await this.embedImages(task, chunk);
      chunk.forEach((image, row) => {
        table.values.set(
          embedded.subarray(row * this.embeddingDim, (row + 1) * this.embeddingDim),
          image * this.embeddingDim,
        );
        table.filled[image] = 1;
      });
    }
    const out = new Float32Array(indices.length * this.embeddingDim);
    indices.forEach((image, row) => {
      out.set(
        table.values.subarray(image * this.embeddingDim, (image + 1) * this.embeddingDim),
        row * this.embeddingDim,
      );
    });
    return out;
  }

  private async embedImages(task: number, images: number[]): Promise<Float32Array> {
    const pixels = await this.dataset.splits[this.split].pixels(images);
    const started = performance.now();
    const embeddings = tf.tidy(() => {
      const batch = pixelsToTensor(pixels, this.dataset.imageShape);
      return normalisedEmbeddings(this.model, batch, new Int32Array(images.length).fill(task), {
        training: false,
      });
    });
    const values = (await embeddings.data()) as Float32Array;
    embeddings.dispose();
    this.embedMilliseconds += performance.now() - started;
    this.embeddedImages += images.length;
    return values;
  }
}

/** Runs every evaluator on one split; adds the measured embedding cost. */
export async function evaluateSplit(
  model: MtlModel,
  dataset: Dataset,
  split: SplitName,
  evaluators: readonly NamedEvaluator[],
): Promise<Metric[]> {
  const context = new SplitEmbedder(model, dataset, split);
  const metrics: Metric[] = [];
  for (const { evaluator } of evaluators) metrics.push(...(await evaluator.evaluate(context)));
  if (context.embeddedImages > 0) {
    metrics.push({
      name: 'time.embed-ms-per-image',
      value: context.embedMilliseconds / context.embeddedImages,
      higherIsBetter: false,
    });
  }
  return metrics;
}

/** Metrics as logs, summaries and printouts keep them: without their per-query samples. */
export function withoutSamples(metrics: readonly Metric[]): Metric[] {
  return metrics.map(({ samples: _samples, ...metric }) => metric);
}

/** A run's `test-samples.json`: the per-query values of its test metrics, for benches to resample. */
export interface TestSamples {
  readonly format: typeof SAMPLES_FORMAT;
  /** Step of the checkpoint tested. */
  readonly step: number;
  readonly metrics: readonly {
    readonly name: string;
    readonly task: string;
    readonly values: readonly number[];
  }[];
}

export const SAMPLES_FORMAT = 'mtlzoo-samples/1';

export function testSamples(metrics: readonly Metric[], step: number): TestSamples {
  return {
    format: SAMPLES_FORMAT,
    step,
    metrics: metrics.flatMap((m) =>
      m.samples && m.task !== undefined ? [{ name: m.name, task: m.task, values: m.samples }] : [],
    ),
  };
}
