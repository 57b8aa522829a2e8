/**
 * Per-task copies of small modules (adapters, attention modules, BatchNorm layers): their variables, and
 * per-task BatchNorm over a mixed batch. Each sample uses its own task's copy (the copy's values gathered
 * per sample, never a per-sample call), and a sample's output never depends on another task's samples, in
 * training too.
 */
import type { ParameterEntry } from '../kinds/method.js';
import * as tf from '../tf.js';
import type { BatchNormSpec, BatchNormVariables } from './layers.js';
import { runGroupedByTask } from './routing.js';
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
 * same arithmetic as `batchNormalize` on each task's samples alone.
 *
 * Written as matrix products with a constant `[N·P, T]` one-hot of each position's task (P positions per
 * sample) over `x` seen as `[N·P, C]`: per-task means are Eᵀ·x, each position's task row is E·table, and
 * every element-wise op has equal shapes. Splitting the batch would gather activations (a slow segment sum
 * in the cpu backend's gradient), and per-sample `[N, 1, 1, C]` broadcasts reduce over middle axes (a slow
 * Tile in the wasm backend's gradient).
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
    const positions = x.size / (n * c);
    const rows = tf.reshape(x, [n * positions, c]) as tf.Tensor2D;
    const oneHot = new Float32Array(n * positions * tasks);
    taskIds.forEach((task, i) => {
      for (let p = 0; p < positions; p++) oneHot[(i * positions + p) * tasks + task] = 1;
    });
    const expand = tf.tensor2d(oneHot, [n * positions, tasks]);
    /** Each position's row of a `[T, C]` table. */
    const perRow = (table: tf.Tensor2D) => tf.matMul(expand, table);
    const table = (pick: (v: BatchNormVariables) => tf.Tensor) => tf.stack(perTask.map(pick)) as tf.Tensor2D;
    let centred: tf.Tensor2D;
    let variance: tf.Tensor2D;
    if (training) {
      const counts = Array.from({ length: tasks }, (_, t) => taskIds.filter((id) => id === t).length);
      const divisor = tf.tensor2d(
        counts.map((k) => Math.max(1, k * positions)),
        [tasks, 1],
      );
      /** Per task, the mean of `values` `[N·P, C]` over its rows: `[T, C]`. */
      const taskMean = (values: tf.Tensor2D) =>
        tf.div(tf.matMul(expand, values, true), divisor) as tf.Tensor2D;
      const mean = taskMean(rows);
      centred = tf.sub(rows, perRow(mean));
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
      centred = tf.sub(rows, perRow(table((v) => v.movingMean)));
      variance = table((v) => v.movingVariance);
    }
    let scale = tf.rsqrt(tf.add(variance, spec.epsilon)) as tf.Tensor2D;
    if (spec.scale)
      scale = tf.mul(
        scale,
        table((v) => v.gamma!),
      );
    const normalised = tf.add(tf.mul(centred, perRow(scale)), perRow(table((v) => v.beta)));
    return tf.reshape(normalised, x.shape) as T;
  });
}

/**
 * A 1×1 convolution of `x` `[N, ..., C]` with each sample's task's kernel `kernels[t]` `[C, C']`: one plain
 * matrix product per task present, on that task's samples. Per-sample kernels in one batched product
 * (`projectPerSample`) cost the same arithmetic, but the wasm backend runs batched products with a
 * transposed operand, which their gradient has, as a scalar loop.
 */
export function projectByTask(x: tf.Tensor, kernels: readonly tf.Tensor[], taskIds: Int32Array): tf.Tensor {
  return runGroupedByTask(x, taskIds, kernels.length, (task, samples) => {
    const kernel = kernels[task]! as tf.Tensor2D;
    const [c, out] = kernel.shape;
    const projected = tf.matMul(tf.reshape(samples, [-1, c]) as tf.Tensor2D, kernel);
    return tf.reshape(projected, [...samples.shape.slice(0, -1), out]);
  });
}
