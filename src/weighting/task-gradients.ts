/**
 * The per-task gradients of the shared parameters as one `[tasks, P]` matrix (what LibMTL's `_get_grads`
 * returns), with its Gram matrix read back once in float64, combinations of its rows, and the way back from
 * a flat update to per-variable gradients.
 */
import type { TaskGradientMatrix } from '../kinds/weighting.js';
import { readNow } from '../backend/read-now.js';
import * as tf from '../tf.js';

export interface Segment {
  readonly name: string;
  readonly size: number;
}

/** The Gram matrices a strategy may ask for, read back in float64. */
export interface TaskGrams {
  /** Of the whole rows. */
  readonly gram: number[][];
  /** Of each segment's part of the rows. */
  readonly segmentGrams: number[][][];
}

/** `[1 + segments, T, T]`: the rows' Gram matrix, then each segment's, as one tensor for one read. */
function gramStack(matrix: tf.Tensor2D, segments: readonly Segment[]): tf.Tensor3D {
  return tf.tidy(() => {
    const gramOf = (rows: tf.Tensor2D) => tf.matMul(rows, rows, false, true);
    const parts = tf.split(
      matrix,
      segments.map((s) => s.size),
      1,
    ) as tf.Tensor2D[];
    return tf.stack([gramOf(matrix), ...parts.map(gramOf)]) as tf.Tensor3D;
  });
}

function unpackGrams(values: tf.TypedArray, tasks: number, segments: number): TaskGrams {
  const at = (g: number) =>
    Array.from({ length: tasks }, (_, i) =>
      Array.from({ length: tasks }, (__, j) => values[(g * tasks + i) * tasks + j]!),
    );
  return { gram: at(0), segmentGrams: Array.from({ length: segments }, (_, s) => at(s + 1)) };
}

/**
 * Every Gram matrix of `matrix`, read back asynchronously in one read (GPU engines read back only so). The
 * trainer reads them before the update is built, so that strategies can stay synchronous.
 */
export async function readTaskGrams(matrix: tf.Tensor2D, segments: readonly Segment[]): Promise<TaskGrams> {
  const stack = gramStack(matrix, segments);
  try {
    return unpackGrams(await stack.data(), matrix.shape[0], segments.length);
  } finally {
    stack.dispose();
  }
}

/**
 * A matrix over `rows` (`[tasks, P]`), the variables laid out as `segments`. Call inside a tidy scope.
 * `grams` as `readTaskGrams` gave them; without them they are read synchronously on first use (on engines
 * that can: tests and the strategy harness).
 */
export function taskGradientMatrix(
  matrix: tf.Tensor2D,
  segments: readonly Segment[],
  grams?: TaskGrams,
): TaskGradientMatrix {
  const sizes = segments.map((s) => s.size);
  let read = grams;
  const all = (): TaskGrams => {
    if (!read) {
      const stack = gramStack(matrix, segments);
      read = unpackGrams(
        readNow(stack, "a weighting strategy's Gram matrix", 'read it with readTaskGrams first'),
        matrix.shape[0],
        segments.length,
      );
      stack.dispose();
    }
    return read;
  };
  return {
    matrix,
    segments,
    gram() {
      return all().gram.map((row) => [...row]);
    },
    segmentGrams() {
      return all().segmentGrams.map((g) => g.map((row) => [...row]));
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

/** Stacks per-task gradient maps (`[task][variable name]`) of the `segments`' variables into `[tasks, P]` rows. */
export function stackTaskGradients(
  perTask: readonly tf.NamedTensorMap[],
  segments: readonly Segment[],
): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = perTask.map((grads) =>
      tf.concat(
        segments.map(({ name, size }) => (grads[name] ? grads[name].reshape([-1]) : tf.zeros([size]))),
      ),
    );
    return tf.stack(rows) as tf.Tensor2D;
  });
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
