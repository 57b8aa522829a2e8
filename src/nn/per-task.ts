/**
 * Per-task copies of small modules (adapters, attention modules, BatchNorm layers): their variables, and
 * per-task BatchNorm over a mixed batch. Each sample uses its own task's copy (the copy's values gathered
 * per sample, never a per-sample call), and a sample's output never depends on another task's samples, in
 * training too.
 */
import type { ParameterEntry } from '../kinds/method.js';
import * as tf from '../tf.js';
import type { BatchNormSpec, BatchNormVariables } from './layers.js';
import { perSampleChannels } from './routing.js';
import type { VariableStore } from './variables.js';

/** Per-task copies of a module, and their variables owned task by task. */
export interface PerTaskModules<M> {
  /** `modules[t]` is task t's copy. */
  readonly modules: readonly M[];
  readonly parameters: readonly ParameterEntry[];
}

/**
 * Builds one copy of a module per task, task t's in `store.scope('task<t>')`, and lists each copy's
 * variables as owned by its task.
 */
export function perTaskModules<M>(
  store: VariableStore,
  taskCount: number,
  build: (store: VariableStore, task: number) => M,
): PerTaskModules<M> {
  const parameters: ParameterEntry[] = [];
  const modules = Array.from({ length: taskCount }, (_, task) => {
    // The store's list is shared by its scopes and only grows: what this build adds is the task's.
    const before = store.variables().length;
    const module = build(store.scope(`task${task}`), task);
    for (const v of store.variables().slice(before)) parameters.push({ ...v, owner: { task } });
    return module;
  });
  return { modules, parameters };
}

/**
 * BatchNorm with one set of variables per task (`perTask[t]`) over a mixed-task batch: in training, each
 * task's samples are normalised by that task's batch statistics (over its samples and all positions) and
 * only present tasks' moving averages move; otherwise each sample uses its task's moving averages. The
 * same arithmetic as `batchNormalize` on each task's samples alone, written with one-hot matrix products
 * rather than by splitting the batch, so that no activation is gathered (a gathered activation's gradient
 * is a slow segment sum on the cpu backend).
 */
export function taskBatchNormalize<T extends tf.Tensor>(
  perTask: readonly BatchNormVariables[],
  spec: BatchNormSpec,
  x: T,
  taskIds: Int32Array,
  training: boolean,
): T {
  return tf.tidy(() => {
    const n = x.shape[0]!;
    const c = x.shape[x.rank - 1]!;
    const tasks = perTask.length;
    const oneHot = tf.oneHot(tf.tensor1d(taskIds, 'int32'), tasks).toFloat() as tf.Tensor2D;
    /** Each sample's row of a `[T, C]` table, shaped to broadcast against `x`. */
    const perSample = (table: tf.Tensor2D) => perSampleChannels(tf.matMul(oneHot, table), x.rank);
    const table = (pick: (v: BatchNormVariables) => tf.Tensor) => tf.stack(perTask.map(pick)) as tf.Tensor2D;
    let centred: tf.Tensor;
    let variance: tf.Tensor2D;
    if (training) {
      const counts = Array.from({ length: tasks }, (_, t) => taskIds.filter((id) => id === t).length);
      const positions = x.size / (n * c);
      const divisor = tf.tensor2d(
        counts.map((k) => Math.max(1, k * positions)),
        [tasks, 1],
      );
      /** Per task, the mean of `values` `[N, ..., C]` over its samples and positions: `[T, C]`. */
      const taskMean = (values: tf.Tensor) =>
        tf.div(tf.matMul(oneHot, tf.sum(tf.reshape(values, [n, -1, c]), 1), true), divisor) as tf.Tensor2D;
      const mean = taskMean(x);
      centred = tf.sub(x, perSample(mean));
      variance = taskMean(tf.square(centred));
      const d = spec.decay;
      counts.forEach((count, t) => {
        if (count === 0) return;
        const v = perTask[t]!;
        tf.tidy(() => {
          v.movingMean.assign(tf.add(tf.mul(v.movingMean, d), tf.mul(tf.gather(mean, t), 1 - d)));
          v.movingVariance.assign(tf.add(tf.mul(v.movingVariance, d), tf.mul(tf.gather(variance, t), 1 - d)));
        });
      });
    } else {
      centred = tf.sub(x, perSample(table((v) => v.movingMean)));
      variance = table((v) => v.movingVariance);
    }
    let scale = tf.rsqrt(tf.add(variance, spec.epsilon)) as tf.Tensor2D;
    if (spec.scale)
      scale = tf.mul(
        scale,
        table((v) => v.gamma!),
      );
    return tf.add(tf.mul(centred, perSample(scale)), perSample(table((v) => v.beta))) as T;
  });
}
