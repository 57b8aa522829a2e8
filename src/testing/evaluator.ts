/**
 * The evaluator contract harness: `checkEvaluatorContract`. The evaluator runs on a small hand-built
 * dataset with two tasks (one with unlabelled images and a fixed triplet list) under two embeddings whose
 * answers are known: "perfect" (each image on the axis of its label, so every
 * retrieval and triplet is right) and "random" (seeded unit vectors). It must ask only for images that
 * exist, report well-formed metrics (every name it declares in `metricNames`), give the same numbers twice,
 * score perfect embeddings no worse than random ones on every metric, and leak no tensor.
 */
import { deepStrictEqual } from 'node:assert';
import type { Dataset, DatasetSplit, TaskInfo } from '../kinds/dataset.js';
import type { EvaluationContext, Evaluator, Metric } from '../kinds/evaluator.js';
import type { AnyPluginOf } from '../kinds/index.js';
import type { ParameterReport } from '../kinds/method.js';
import * as tf from '../tf.js';
import { assertReleased, check, unitRows } from './assertions.js';
import { buildPlugin, checkedOptions } from './plugin.js';

export interface EvaluatorContractOptions {
  /** Seed of the random embeddings (default 1). */
  seed?: number;
  /**
   * Known answers: the value each named overall metric (or `name/task` for a per-task one) must have on
   * perfect embeddings, e.g. `{ 'hit@1': 1 }`.
   */
  expectPerfect?: Readonly<Record<string, number>>;
}

/** The metrics under both embeddings, for tests to assert known answers on. */
export interface EvaluatorContractReport {
  readonly perfect: readonly Metric[];
  readonly random: readonly Metric[];
}

/** What the evaluator sees as the method's cost; a storage-like evaluator reports it back. */
export const CONTRACT_REPORT: ParameterReport = {
  sharedParams: 1000,
  paramsPerTask: 24,
  totalParams: 1048,
  bytes: 4400,
  galleryPasses: 2,
};

const SIZE = 24;
/** Embedding size: one axis per label of the larger task, and one for unlabelled images. */
const DIM = 4;

const TASKS: readonly TaskInfo[] = [
  { name: 'colour', description: 'three colours', factors: ['colour'], labelNames: ['red', 'green', 'blue'] },
  { name: 'shape', description: 'two shapes', factors: ['shape'], labelNames: ['circle', 'square'] },
];

/** Task `colour`: i mod 3. Task `shape`: pairs alternate, every seventh image unlabelled. */
const LABELS = [
  Int32Array.from({ length: SIZE }, (_, i) => i % 3),
  Int32Array.from({ length: SIZE }, (_, i) => (i % 7 === 6 ? -1 : Math.floor(i / 2) % 2)),
];

/** A fixed list for `shape`: anchor and positive share a label, the negative has the other. */
function shapeTriplets(): Int32Array {
  const labels = LABELS[1]!;
  const flat: number[] = [];
  for (let a = 0; a < SIZE && flat.length < 30; a++) {
    if (labels[a]! < 0) continue;
    const p = labels.findIndex((l, i) => i > a && l === labels[a]);
    const n = labels.findIndex((l) => l >= 0 && l !== labels[a]);
    if (p >= 0 && n >= 0) flat.push(a, p, n);
  }
  return Int32Array.from(flat);
}

function contractDataset(): Dataset {
  const split: DatasetSplit = {
    size: SIZE,
    labels: LABELS,
    triplets: [undefined, shapeTriplets()],
    // Evaluators see images only through `embed`; a flat grey image per index keeps the contract honest.
    pixels: (indices) => Promise.resolve(new Uint8Array(indices.length * 2 * 2 * 3).fill(128)),
    source: (index) => `contract-image-${index}`,
  };
  return {
    name: 'contract',
    tasks: TASKS,
    imageShape: [2, 2, 3],
    splits: { train: split, val: split, test: split },
  };
}

/** Perfect: image i of task t at axis `label`, the unlabelled at the last axis. */
function perfectRow(task: number, index: number): number[] {
  const label = LABELS[task]![index]!;
  return Array.from({ length: DIM }, (_, j) => (j === (label < 0 ? DIM - 1 : label) ? 1 : 0));
}

function context(
  label: string,
  dataset: Dataset,
  rowOf: (task: number, index: number) => ArrayLike<number>,
): EvaluationContext {
  return {
    dataset,
    split: 'test',
    embeddingDim: DIM,
    report: CONTRACT_REPORT,
    embed(task, indices) {
      check(
        Number.isInteger(task) && task >= 0 && task < TASKS.length,
        () => `${label}: embed asked for task ${task}`,
      );
      const out = new Float32Array(indices.length * DIM);
      indices.forEach((index, k) => {
        check(
          Number.isInteger(index) && index >= 0 && index < SIZE,
          () => `${label}: embed asked for image ${index} of a split of ${SIZE}`,
        );
        out.set(rowOf(task, index), k * DIM);
      });
      return Promise.resolve(out);
    },
  };
}

function keyOf(metric: Metric): string {
  return metric.task === undefined ? metric.name : `${metric.name}/${metric.task}`;
}

function checkMetrics(label: string, metrics: Metric[], evaluator: Evaluator): void {
  check(Array.isArray(metrics), () => `${label}: evaluate() must resolve to a list of metrics`);
  const seen = new Set<string>();
  for (const m of metrics) {
    check(typeof m.name === 'string' && m.name.length > 0, () => `${label}: a metric has no name`);
    check(
      m.task === undefined || TASKS.some((t) => t.name === m.task),
      () => `${label}: metric ${m.name} names task "${m.task}", not one of the dataset's`,
    );
    check(
      typeof m.value === 'number' && Number.isFinite(m.value),
      () => `${label}: metric ${keyOf(m)} is ${m.value} (every task of the harness's dataset can be scored)`,
    );
    check(
      typeof m.higherIsBetter === 'boolean',
      () => `${label}: metric ${keyOf(m)} does not say whether higher is better`,
    );
    check(!seen.has(keyOf(m)), () => `${label}: metric ${keyOf(m)} is reported twice`);
    seen.add(keyOf(m));
  }
  for (const name of evaluator.metricNames ?? []) {
    check(
      seen.has(name),
      () => `${label}: declares metric ${name} in metricNames but reports no overall ${name}`,
    );
  }
}

/**
 * Checks an evaluator plugin on the harness's dataset (two tasks, 24 test images, one fixed triplet list,
 * some unlabelled images) under perfect and random embeddings; returns both sets of metrics.
 */
export async function checkEvaluatorContract(
  plugin: AnyPluginOf<'evaluator'>,
  rawOptions: unknown,
  options: EvaluatorContractOptions = {},
): Promise<EvaluatorContractReport> {
  const label = `evaluator ${plugin.name}`;
  const evaluator = await buildPlugin(
    'evaluator',
    plugin,
    checkedOptions('evaluator', plugin, rawOptions),
    {},
  );
  const dataset = contractDataset();
  const random = unitRows(TASKS.length * SIZE, DIM, options.seed ?? 1);
  const perfectContext = context(label, dataset, perfectRow);
  const randomContext = context(label, dataset, (task, index) =>
    random.subarray((task * SIZE + index) * DIM, (task * SIZE + index + 1) * DIM),
  );

  const baseline = tf.memory().numTensors;
  const perfect = await evaluator.evaluate(perfectContext);
  assertReleased(label, baseline, 'after evaluate()');
  checkMetrics(label, perfect, evaluator);
  deepStrictEqual(await evaluator.evaluate(perfectContext), perfect, `${label}: two evaluations differ`);
  const chance = await evaluator.evaluate(randomContext);
  checkMetrics(label, chance, evaluator);
  deepStrictEqual(
    chance.map(keyOf),
    perfect.map(keyOf),
    `${label}: reports different metrics for other embeddings`,
  );
  perfect.forEach((m, i) => {
    const other = chance[i]!.value;
    check(
      m.higherIsBetter ? m.value >= other - 1e-9 : m.value <= other + 1e-9,
      () => `${label}: ${keyOf(m)} scores perfect embeddings ${m.value}, worse than random ones (${other})`,
    );
  });
  for (const [key, expected] of Object.entries(options.expectPerfect ?? {})) {
    const found = perfect.find((m) => keyOf(m) === key);
    check(found !== undefined, () => `${label}: reports no ${key}`);
    check(
      Math.abs(found.value - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
      () => `${label}: ${key} is ${found.value} on perfect embeddings, expected ${expected}`,
    );
  }
  return { perfect, random: chance };
}
