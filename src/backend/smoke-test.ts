/**
 * The run-time check a backend must pass before mtlzoo trains on it: one forward and backward pass through
 * the ops a training step uses (conv and its two gradients, max-pool, batch moments, routing gathers,
 * matmul), compared with the same computation on the pure-JS cpu reference.
 */
import * as tf from '../tf.js';
import { Rng } from '../util/random.js';

const TOLERANCE = 1e-3;

function inputs(): { x: Float32Array; w: Float32Array; m: Float32Array; d: Float32Array } {
  const rng = new Rng(12345);
  const fill = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return { x: fill(2 * 7 * 7 * 3), w: fill(3 * 3 * 3 * 4), m: fill(2 * 4), d: fill(4 * 5) };
}

/**
 * Loss value and gradients, flattened, computed on the current backend. Read back asynchronously: a GPU
 * engine (webgpu) has no synchronous read.
 */
async function lossAndGradients(): Promise<number[]> {
  const data = inputs();
  const outputs = tf.tidy(() => {
    const x = tf.tensor4d(data.x, [2, 7, 7, 3]);
    const w = tf.tensor4d(data.w, [3, 3, 3, 4]);
    const m = tf.tensor2d(data.m, [2, 4]);
    const d = tf.tensor2d(data.d, [4, 5]);
    const taskIds = tf.tensor1d([1, 0, 1], 'int32');
    const f = (x: tf.Tensor, w: tf.Tensor, m: tf.Tensor, d: tf.Tensor) => {
      const conv = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same');
      const { mean, variance } = tf.moments(conv, [0, 1, 2]);
      const normalised = tf.relu(tf.div(tf.sub(conv, mean), tf.sqrt(tf.add(variance, 1e-3))));
      const pooled = tf.mean(tf.maxPool(normalised as tf.Tensor4D, 2, 1, 'valid'), [1, 2]);
      const routed = tf.mul(tf.gather(pooled, tf.tensor1d([0, 1, 1], 'int32')), tf.gather(m, taskIds));
      return tf.mean(tf.square(tf.matMul(routed, d as tf.Tensor2D)));
    };
    const { value, grads } = tf.valueAndGrads(f)([x, w, m, d]);
    return [value, ...grads];
  });
  try {
    const values = await Promise.all(outputs.map((t) => t.data()));
    return values.flatMap((v) => Array.from(v as Float32Array));
  } finally {
    tf.dispose(outputs);
  }
}

let reference: number[] | undefined;

async function cpuReference(): Promise<number[]> {
  if (reference) return reference;
  const active = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    reference = await lossAndGradients();
  } finally {
    await tf.setBackend(active);
  }
  return reference;
}

/** Passes, or throws an Error whose message names what failed (e.g. a missing kernel). */
export async function runBackendSmokeTest(): Promise<void> {
  const expected = await cpuReference();
  const actual = await lossAndGradients();
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (!Number.isFinite(a) || Math.abs(a - e) > TOLERANCE * Math.max(1, Math.abs(e))) {
      throw new Error(`gradient check failed: value ${i} is ${a}, the cpu reference gives ${e}`);
    }
  }
}

/** Short reason for a smoke-test failure: the missing kernel's name when that is the cause. */
export function explainFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const kernel = /Kernel '([^']+)' not registered/.exec(message);
  return kernel ? `missing kernel ${kernel[1]}` : message;
}
