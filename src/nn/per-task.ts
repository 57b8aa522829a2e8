/**
 * Per-task copies of small modules (adapters, attention modules, BatchNorm layers): their variables, and
 * per-task BatchNorm and 1×1 convolutions over a mixed batch. Each sample uses its own task's copy (one call
 * per task present, on its samples, never a per-sample call), and a sample's output never depends on
 * another task's samples, in training too.
 */
import type { ParameterEntry } from '../kinds/method.js';
import * as tf from '../tf.js';
import { batchNormalize, type BatchNormSpec, type BatchNormVariables } from './layers.js';
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
 * BatchNorm with one set of variables per task (`perTask[t]`) over a mixed-task batch: `batchNormalize` on
 * each task's samples alone with that task's variables. In training each task's samples are normalised by
 * their own batch statistics (over its samples and all positions) and only present tasks' moving averages
 * move; otherwise each sample uses its task's moving averages.
 *
 * Each task's samples take the fused BatchNorm kernel where the backend has one. (A formulation with
 * products by a `[N·P, T]` one-hot of each position's task avoids cutting the batch, but its transposed
 * products over N·P rows cost 1.3 s of a 2 s step at 64 px on wasm, against 0.1 s for the rest.)
 */
export function taskBatchNormalize<T extends tf.Tensor>(
  perTask: readonly BatchNormVariables[],
  spec: BatchNormSpec,
  x: T,
  taskIds: Int32Array,
  training: boolean,
): T {
  return runGroupedByTask(x, taskIds, perTask.length, (task, samples) =>
    batchNormalize(perTask[task]!, spec, samples, training),
  ) as T;
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
