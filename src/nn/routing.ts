/** Routing samples of a mixed-task batch, vectorised (no per-sample network calls). */
import * as tf from '../tf.js';

/**
 * The values of `x` cut from the gradient tape (TensorFlow's stop_gradient): the result shares x's data on
 * the active backend, as an Identity kernel would, so nothing is copied or read back to the host, and no
 * gradient flows through it.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const backend = tf.backend();
  backend.incRef(x.dataId);
  return tf.engine().makeTensorFromDataId(x.dataId, x.shape, x.dtype, backend) as T;
}

/** Per-sample rows of a `[T, ...]` tensor: `table[taskIds[i]]` for every i. */
export function gatherByTask(table: tf.Tensor, taskIds: Int32Array): tf.Tensor {
  return tf.tidy(() => tf.gather(table, tf.tensor1d(taskIds, 'int32')));
}

/** From `[T, N, ...]` (every task's output for every sample) picks `stacked[taskIds[i], i]`. */
export function selectPerSample(stacked: tf.Tensor, taskIds: Int32Array): tf.Tensor {
  // A one-hot weighted sum rather than gatherND, which has no gradient in tfjs.
  return tf.tidy(() => {
    const [taskCount, n] = stacked.shape as [number, number];
    const weights = tf.transpose(tf.oneHot(tf.tensor1d(taskIds, 'int32'), taskCount).toFloat());
    const broadcastShape = [taskCount, n, ...new Array<number>(stacked.rank - 2).fill(1)];
    return tf.sum(tf.mul(stacked, tf.reshape(weights, broadcastShape)), 0);
  });
}

export interface TaskPartition {
  /** Sample indices of each task, in batch order (empty for absent tasks). */
  readonly members: readonly Int32Array[];
  /** Position of sample i in the concatenation of `members` (the inverse permutation). */
  readonly inverse: Int32Array;
}

export function partitionByTask(taskIds: Int32Array, taskCount: number): TaskPartition {
  const lists: number[][] = Array.from({ length: taskCount }, () => []);
  taskIds.forEach((t, i) => {
    const list = lists[t];
    if (!list) throw new RangeError(`task id ${t} out of range [0, ${taskCount})`);
    list.push(i);
  });
  const inverse = new Int32Array(taskIds.length);
  let position = 0;
  for (const list of lists) for (const i of list) inverse[i] = position++;
  return { members: lists.map((l) => Int32Array.from(l)), inverse };
}

/**
 * Runs `run(task, samples)` once per task present, on that task's samples only, and reassembles the
 * outputs in batch order. A batch already grouped by task in task order (a training batch is: its
 * triplets come task by task) is cut with one split, whose gradient is a concat; any other order is
 * gathered and put back, whose gradient is a segment sum. Either way each sample's values are copied, not
 * computed, so both give the same numbers.
 */
export function runGroupedByTask(
  input: tf.Tensor,
  taskIds: Int32Array,
  taskCount: number,
  run: (task: number, samples: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  const { members, inverse } = partitionByTask(taskIds, taskCount);
  const present = members.flatMap((indices, task) => (indices.length > 0 ? [{ task, indices }] : []));
  const grouped = inverse.every((position, i) => position === i);
  return tf.tidy(() => {
    const inputs = grouped
      ? present.length === 1
        ? [input]
        : tf.split(
            input,
            present.map((p) => p.indices.length),
            0,
          )
      : present.map((p) => tf.gather(input, tf.tensor1d(p.indices, 'int32')));
    const parts = present.map((p, i) => run(p.task, inputs[i]!));
    const joined = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    return grouped ? joined : tf.gather(joined, tf.tensor1d(inverse, 'int32'));
  });
}

/** Checks task ids before any tensor work, so a bad id fails with its value rather than a gather error. */
export function assertTaskIds(taskIds: Int32Array, taskCount: number, batchSize: number): void {
  if (taskIds.length !== batchSize) {
    throw new RangeError(`${taskIds.length} task ids for a batch of ${batchSize}`);
  }
  for (const t of taskIds) {
    if (!Number.isInteger(t) || t < 0 || t >= taskCount) {
      throw new RangeError(`task id ${t} out of range [0, ${taskCount})`);
    }
  }
}

/**
 * Per-sample channel values `[N, C]` reshaped to broadcast against a feature map of rank `rank`
 * (`[N, 1, …, 1, C]`), for scaling or shifting each sample's channels by its task's values.
 */
export function perSampleChannels(values: tf.Tensor, rank: number): tf.Tensor {
  const [n, c] = values.shape as [number, number];
  return tf.reshape(values, [n, ...new Array<number>(rank - 2).fill(1), c]);
}

/**
 * Projects the channels of `x` `[N, ..., C]` by per-sample matrices `[N, C, C']` (each sample's task's
 * matrix, gathered): a 1×1 convolution with a per-sample kernel, as one batched matrix product.
 */
export function projectPerSample(x: tf.Tensor, matrices: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const n = x.shape[0]!;
    const c = x.shape[x.rank - 1]!;
    const rows = tf.reshape(x, [n, -1, c]) as tf.Tensor3D;
    const projected = tf.matMul(rows, matrices as tf.Tensor3D);
    return tf.reshape(projected, [...x.shape.slice(0, -1), matrices.shape[2]!]);
  });
}
