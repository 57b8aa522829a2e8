/**
 * The per-task gradients of the shared parameters as one `[tasks, P]` matrix (what LibMTL's `_get_grads`
 * returns), with its Gram matrix read back once in float64, combinations of its rows, and the way back from
 * a flat update to per-variable gradients.
 */
import type { TaskGradientMatrix } from '../kinds/weighting.js';
import * as tf from '../tf.js';

export interface Segment {
  readonly name: string;
  readonly size: number;
}

/** A matrix over `rows` (`[tasks, P]`), the variables laid out as `segments`. Call inside a tidy scope. */
export function taskGradientMatrix(matrix: tf.Tensor2D, segments: readonly Segment[]): TaskGradientMatrix {
  const tasks = matrix.shape[0];
  const sizes = segments.map((s) => s.size);
  const gramOf = (rows: tf.Tensor2D): number[][] => {
    const values = tf.tidy(() => tf.matMul(rows, rows, false, true).dataSync());
    return Array.from({ length: tasks }, (_, i) =>
      Array.from({ length: tasks }, (__, j) => values[i * tasks + j]!),
    );
  };
  let gram: number[][] | undefined;
  let segmentGrams: number[][][] | undefined;
  return {
    matrix,
    segments,
    gram() {
      gram ??= gramOf(matrix);
      return gram.map((row) => [...row]);
    },
    segmentGrams() {
      segmentGrams ??= tf.split(matrix, sizes, 1).map((part) => {
        const g = gramOf(part as tf.Tensor2D);
        part.dispose();
        return g;
      });
      return segmentGrams.map((g) => g.map((row) => [...row]));
    },
    combineBySegment(coefficients) {
      return tf.tidy(() =>
        tf.concat(
          tf
            .split(matrix, sizes, 1)
            .map((part, s) => tf.matMul(tf.tensor2d([Array.from(coefficients[s]!)]), part).reshape([-1])),
        ),
      ) as tf.Tensor1D;
    },
    combine(coefficients) {
      return tf.tidy(() =>
        tf.matMul(tf.tensor2d([Array.from(coefficients)]), matrix).reshape([-1]),
      ) as tf.Tensor1D;
    },
  };
}

/** Stacks per-task gradient maps (`[task][variable name]`) of the variables `shapes` names into rows. */
export function stackTaskGradients(
  perTask: readonly tf.NamedTensorMap[],
  shapes: readonly { readonly name: string; readonly shape: readonly number[] }[],
): TaskGradientMatrix {
  const segments = shapes.map(({ name, shape }) => ({ name, size: shape.reduce((a, b) => a * b, 1) }));
  const rows = perTask.map((grads) =>
    tf.concat(
      shapes.map(({ name }, v) => (grads[name] ? grads[name].reshape([-1]) : tf.zeros([segments[v]!.size]))),
    ),
  );
  return taskGradientMatrix(tf.stack(rows) as tf.Tensor2D, segments);
}

/** A flat `[P]` update back into per-variable tensors of the given shapes. */
export function unstackUpdate(
  update: tf.Tensor1D,
  shapes: readonly { readonly name: string; readonly shape: readonly number[] }[],
): tf.NamedTensorMap {
  const sizes = shapes.map(({ shape }) => shape.reduce((a, b) => a * b, 1));
  const parts = tf.split(update, sizes);
  return Object.fromEntries(shapes.map(({ name, shape }, v) => [name, parts[v]!.reshape([...shape])]));
}
