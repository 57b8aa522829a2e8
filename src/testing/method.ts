/** The method contract harness: `checkMethodContract` (see docs/plugins.md, "Testing a plugin"). */
import type { BackboneFactory } from '../kinds/backbone.js';
import type { AnyPluginOf } from '../kinds/index.js';
import { taskDependenceOf, type MtlModel, type ParameterEntry } from '../kinds/method.js';
import * as tf from '../tf.js';
import {
  assertFinite,
  assertFiniteOutputs,
  assertGradients,
  assertNoLeak,
  assertReleased,
  assertShape,
  assertUniqueNames,
  check,
  seededTensor,
  tensorValues,
  type ContractOptions,
} from './assertions.js';
import { buildPlugin, checkedOptions } from './plugin.js';

/** Moves every trainable task-owned variable away from its initial value, so tasks really differ. */
function perturbTaskVariables(entries: readonly ParameterEntry[]): void {
  entries.forEach((e, i) => {
    if (e.owner === 'shared' || !e.trainable) return;
    tf.tidy(() =>
      e.variable.assign(tf.add(e.variable, tf.sub(seededTensor(e.variable.shape, 100 + i), 0.5))),
    );
  });
}

function maxRelativeDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  }
  return worst;
}

/**
 * In inference a sample's embedding depends on its own image and task only: a mixed-task batch must give
 * each task's samples what they get run alone. Where the method has task-owned variables, one image's
 * embeddings under tasks 0 and 1 must differ, so that a method routing every sample to one task fails.
 */
async function assertRouting(
  label: string,
  model: MtlModel,
  images: tf.Tensor4D,
  taskIds: Int32Array,
  taskCount: number,
): Promise<void> {
  const inference = { training: false };
  const embedded = (batch: () => tf.Tensor4D, ids: Int32Array) =>
    tensorValues(() => model.embed(batch(), ids, inference));
  const together = await embedded(() => images, taskIds);
  const dim = model.embeddingDim;
  for (let task = 0; task < taskCount; task++) {
    const members = Int32Array.from(Array.from(taskIds).flatMap((t, i) => (t === task ? [i] : [])));
    const alone = await embedded(
      () => tf.gather(images, members) as tf.Tensor4D,
      new Int32Array(members.length).fill(task),
    );
    const rows = new Float32Array(members.length * dim);
    members.forEach((sample, row) =>
      rows.set(together.subarray(sample * dim, (sample + 1) * dim), row * dim),
    );
    const difference = maxRelativeDifference(alone, rows);
    check(
      difference <= 1e-4,
      () =>
        `${label}: task ${task}'s samples embed differently in a mixed batch than alone (relative difference ${difference.toExponential(2)}): routing mixes tasks`,
    );
  }
  if (taskCount > 1 && model.parameters().some((p) => p.owner !== 'shared')) {
    const both = await embedded(
      () => tf.tile(tf.slice(images, 0, 1), [2, 1, 1, 1]) as tf.Tensor4D,
      Int32Array.from([0, 1]),
    );
    const difference = maxRelativeDifference(both.subarray(0, dim), both.subarray(dim));
    check(
      difference > 1e-6,
      () => `${label}: tasks 0 and 1 embed an image identically although the method has task-owned variables`,
    );
  }
}

/** `embedWithPenalty` agrees with `embed` and gives a finite scalar; `explain` gives spatial weights. */
async function checkOptionalApi(
  label: string,
  model: MtlModel,
  images: tf.Tensor4D,
  taskIds: Int32Array,
): Promise<void> {
  const inference = { training: false };
  const n = taskIds.length;
  if (model.embedWithPenalty) {
    const run = async () => {
      const [embeddings, plain, penalty] = tf.tidy(() => {
        const forward = model.embedWithPenalty!(images, taskIds, inference);
        const rows = (shift: number) => Int32Array.from({ length: n }, (_, i) => (i + shift) % n);
        return [
          forward.embeddings,
          model.embed(images, taskIds, inference),
          forward.penalty({ anchor: rows(0), positive: rows(1), negative: rows(2) }),
        ];
      });
      try {
        const difference = maxRelativeDifference(
          (await embeddings.data()) as Float32Array,
          (await plain.data()) as Float32Array,
        );
        check(difference <= 1e-6, () => `${label}: embedWithPenalty's embeddings differ from embed's`);
        assertShape(`${label}: penalty`, penalty.shape, []);
        assertFinite(`${label}: penalty`, await penalty.data());
      } finally {
        tf.dispose([embeddings, plain, penalty]);
      }
    };
    await run();
    await assertNoLeak(`${label}: embedWithPenalty`, run);
  }
  if (model.explain) {
    const run = async () => {
      const maps = tf.tidy(() => model.explain!(images, taskIds));
      try {
        check(
          maps.rank === 3 && maps.shape[0] === n,
          () => `${label}: explain gives shape [${maps.shape.join(', ')}], expected [${n}, h, w]`,
        );
        const values = await maps.data();
        assertFinite(`${label}: explain`, values);
        const size = maps.size / n;
        for (let i = 0; i < n; i++) {
          let sum = 0;
          for (let j = 0; j < size; j++) {
            const v = values[i * size + j]!;
            check(v >= 0, () => `${label}: explain gives a negative weight ${v}`);
            sum += v;
          }
          check(
            Math.abs(sum - 1) < 1e-4,
            () => `${label}: explain's weights of sample ${i} sum to ${sum}, not 1`,
          );
        }
      } finally {
        maps.dispose();
      }
    };
    await run();
    await assertNoLeak(`${label}: explain`, run);
  }
}

/**
 * A declared shared prefix must be a real split of `embed`: `complete(shared(x))` gives what `embed(x)`
 * gives (to float rounding), for mixed tasks, without leaking.
 */
async function assertTaskDependence(
  label: string,
  model: MtlModel,
  images: tf.Tensor4D,
  taskIds: Int32Array,
  stageCount: number,
): Promise<void> {
  const dependence = taskDependenceOf(model);
  if (dependence.from === 'input') return;
  const { sharedStages } = dependence;
  check(
    Number.isInteger(sharedStages) && sharedStages >= 1 && sharedStages <= stageCount,
    () => `${label}: taskDependence.sharedStages ${sharedStages} outside [1, ${stageCount}]`,
  );
  const context = { training: false };
  const split = () =>
    tf.tidy(() => dependence.complete(dependence.shared(images, context), taskIds, context));
  const [scale, gap] = tf.tidy(() => {
    const direct = model.embed(images, taskIds, context);
    const viaPrefix = split();
    assertShape(`${label}: complete(shared(x))`, viaPrefix.shape, direct.shape);
    return [tf.max(tf.abs(direct)), tf.max(tf.abs(tf.sub(direct, viaPrefix)))];
  });
  try {
    const magnitude = Math.max(1, (await scale!.data())[0]!);
    const difference = (await gap!.data())[0]!;
    check(
      difference <= 1e-5 * magnitude,
      () =>
        `${label}: complete(shared(x)) differs from embed(x) by ${difference} (taskDependence is not a split of embed)`,
    );
  } finally {
    tf.dispose([scale!, gap!]);
  }
  await assertNoLeak(`${label}: taskDependence`, async () => tf.dispose(split()));
}

/** Sums trainable sizes by owner and all bytes, independently of the plugin's own report. */
function expectedReport(entries: readonly ParameterEntry[], taskCount: number) {
  let shared = 0;
  let tasks = 0;
  let bytes = 0;
  for (const e of entries) {
    bytes += 4 * e.variable.size;
    if (e.trainable) {
      if (e.owner === 'shared') shared += e.variable.size;
      else tasks += e.variable.size;
    }
  }
  return { sharedParams: shared, paramsPerTask: tasks / taskCount, totalParams: shared + tasks, bytes };
}

/**
 * Checks a method: options validate and round-trip through JSON, `check` accepts them, the model's
 * parameters are uniquely named with valid owners, its report matches them, a mixed-task batch embeds to
 * `[N, embeddingDim]` finite values, every trainable variable receives a non-zero gradient, nothing leaks,
 * `embedWithPenalty` and `explain` (where present) behave, and, with the task-owned variables moved off
 * their initial values, a mixed batch embeds each task's samples as they embed alone (inference), tasks
 * differ, and a declared task dependence splits `embed` exactly; dispose frees everything.
 */
export async function checkMethodContract(
  plugin: AnyPluginOf<'method'>,
  rawOptions: unknown,
  backbone: BackboneFactory,
  taskCount: number,
  options: ContractOptions = {},
): Promise<void> {
  const label = `method ${plugin.name}`;
  const methodOptions = checkedOptions('method', plugin, rawOptions, { backbone: backbone.description });
  const baseline = tf.memory().numTensors;
  const model: MtlModel = await buildPlugin('method', plugin, methodOptions, {
    backbone,
    taskCount,
    seed: options.seed ?? 1,
  });
  const d = backbone.description;
  try {
    check(
      model.taskCount === taskCount,
      () => `${label}: taskCount ${model.taskCount}, expected ${taskCount}`,
    );
    check(model.embeddingDim > 0, () => `${label}: embeddingDim ${model.embeddingDim}`);
    const entries = model.parameters();
    assertUniqueNames(label, entries);
    for (const e of entries) {
      if (e.owner !== 'shared') {
        const task = e.owner.task;
        check(
          Number.isInteger(task) && task >= 0 && task < taskCount,
          () => `${label}: "${e.name}" is owned by task ${task}, outside [0, ${taskCount})`,
        );
      }
    }
    const report = model.report();
    const expected = expectedReport(entries, taskCount);
    for (const key of ['sharedParams', 'paramsPerTask', 'totalParams', 'bytes'] as const) {
      check(
        report[key] === expected[key],
        () => `${label}: report ${key} ${report[key]}, parameters give ${expected[key]}`,
      );
    }
    check(
      Number.isInteger(report.galleryPasses) &&
        report.galleryPasses >= 1 &&
        report.galleryPasses <= taskCount,
      () => `${label}: galleryPasses ${report.galleryPasses} outside [1, ${taskCount}]`,
    );

    const batch = options.batchSize ?? 2 * taskCount;
    check(batch >= taskCount, () => `${label}: batch ${batch} cannot hold every task`);
    // Interleaved ids: every task present, no task contiguous, so routing must really route.
    const taskIds = Int32Array.from({ length: batch }, (_, i) => i % taskCount);
    const images = seededTensor([batch, ...d.inputShape], 3) as tf.Tensor4D;
    try {
      await assertFiniteOutputs(() => {
        const out = model.embed(images, taskIds, { training: false });
        assertShape(`${label}: embeddings`, out.shape, [batch, model.embeddingDim]);
        return [[`${label}: embeddings`, out]];
      });
      const step = () =>
        assertGradients(label, entries, () => model.embed(images, taskIds, { training: true }));
      await step();
      await assertNoLeak(label, step);
      await checkOptionalApi(label, model, images, taskIds);
      perturbTaskVariables(entries);
      await assertRouting(label, model, images, taskIds, taskCount);
      await assertTaskDependence(label, model, images, taskIds, d.stages.length);
    } finally {
      images.dispose();
    }
  } finally {
    model.dispose();
  }
  assertReleased(label, baseline);
}
