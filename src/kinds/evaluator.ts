/** Kind `evaluator`: metrics from embeddings. Evaluators never see the model, only what it embeds. */
import type { Dataset, SplitName } from './dataset.js';
import type { ParameterReport } from './method.js';

export interface Metric {
  /** e.g. `triplet-accuracy`, `mAP@10`, `params.total`. */
  readonly name: string;
  /** Task name, or undefined for a metric over all tasks. */
  readonly task?: string;
  readonly value: number;
  readonly higherIsBetter: boolean;
  /**
   * Per-query values whose mean is `value`: one per test triplet (1 correct, 0 not) or per scored retrieval
   * query, in an order the evaluator fixes from its seed and the data, so that two runs on the same data
   * line up query by query. Benches resample them for intervals and paired differences
   * (src/metrics/statistics.ts). Per-task metrics carry them; averages over tasks do not. Runs keep them in
   * a side file (`test-samples.json`), never in the metrics log.
   */
  readonly samples?: readonly number[];
}

export interface EvaluationContext {
  readonly dataset: Dataset;
  readonly split: SplitName;
  readonly embeddingDim: number;
  /**
   * L2-normalised embeddings, `indices.length × embeddingDim`, of split images under task `task`. Cached per
   * (task, image), so evaluators may ask freely.
   */
  embed(task: number, indices: Int32Array): Promise<Float32Array>;
  readonly report: ParameterReport;
}

export interface Evaluator {
  /**
   * Names of the metrics `evaluate` reports over all tasks, when known before running; lets a config's
   * `train.selectBy` be checked when the config loads rather than at the first validation.
   */
  readonly metricNames?: readonly string[];
  evaluate(context: EvaluationContext): Promise<Metric[]>;
}
