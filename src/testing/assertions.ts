/**
 * What every contract harness asserts with. The harnesses throw (or reject with) `AssertionError` and use no test-runner
 * globals, so they work under any runner; inputs come from a seeded generator, so failures reproduce.
 */
import { AssertionError } from 'node:assert';
import type { NamedVariable } from '../kinds/backbone.js';
import * as tf from '../tf.js';
import { Rng } from '../util/random.js';

export function fail(message: string): never {
  throw new AssertionError({ message });
}

export function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) fail(message());
}

/** Deterministic values in [0, 1). */
export function seededTensor(shape: readonly number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.next();
  return tf.tensor(values, [...shape]);
}

/** `n` rows of unit length in `d` dimensions, uniformly distributed in direction: what losses get. */
export function unitRows(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      out[i * d + j] = v;
      norm += v * v;
    }
    for (let j = 0; j < d; j++) out[i * d + j]! /= Math.sqrt(norm);
  }
  return out;
}

/** Values read back by the caller: `await t.data()` where the check may run on a GPU engine (webgpu). */
export function assertFinite(label: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    check(Number.isFinite(values[i]!), () => `${label}: non-finite value ${values[i]} at ${i}`);
  }
}

export function assertShape(label: string, actual: readonly number[], expected: readonly number[]): void {
  check(
    actual.length === expected.length && actual.every((v, i) => v === expected[i]),
    () => `${label}: shape [${actual.join(', ')}], expected [${expected.join(', ')}]`,
  );
}

export function assertUniqueNames(label: string, variables: readonly NamedVariable[]): void {
  const seen = new Set<string>();
  for (const v of variables) {
    check(!seen.has(v.name), () => `${label}: variable name "${v.name}" is used twice`);
    seen.add(v.name);
  }
}

/**
 * One training step's gradient: d(Σ embedding ⊙ r)/dθ for every trainable variable, with r fixed. Every
 * gradient must have its variable's shape, be finite, and not be all zeros. Values are read back
 * asynchronously, so the check runs on GPU engines (webgpu) too.
 */
export async function assertGradients(
  label: string,
  variables: readonly NamedVariable[],
  embed: () => tf.Tensor,
): Promise<void> {
  const trainable = variables.filter((v) => v.trainable);
  check(trainable.length > 0, () => `${label}: no trainable variables`);
  const { value, grads } = tf.variableGrads(
    () => {
      const embedding = embed();
      return tf.sum(tf.mul(embedding, seededTensor(embedding.shape, 99))) as tf.Scalar;
    },
    trainable.map((v) => v.variable),
  );
  try {
    assertFinite(`${label}: loss`, await value.data());
    for (const v of trainable) {
      const grad = grads[v.variable.name];
      check(grad !== undefined, () => `${label}: no gradient reaches "${v.name}"`);
      assertShape(`${label}: gradient of "${v.name}"`, grad.shape, v.variable.shape);
      const values = await grad.data();
      assertFinite(`${label}: gradient of "${v.name}"`, values);
      check(
        values.some((x) => x !== 0),
        () => `${label}: gradient of "${v.name}" is all zeros`,
      );
    }
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

/** Runs `step` (already run once, so lazily created state exists) and fails if the tensor count grew. */
export async function assertNoLeak(label: string, step: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await step();
  const after = tf.memory().numTensors;
  check(after === before, () => `${label}: ${after - before} tensors leaked by one call`);
}

/** Runs `forward` under tf.tidy, then checks each tensor it returns is finite and disposes them. */
export async function assertFiniteOutputs(forward: () => [string, tf.Tensor][]): Promise<void> {
  let outputs: [string, tf.Tensor][] = [];
  tf.tidy(() => {
    outputs = forward();
    return outputs.map(([, t]) => t);
  });
  try {
    for (const [label, tensor] of outputs) assertFinite(label, await tensor.data());
  } finally {
    tf.dispose(outputs.map(([, t]) => t));
  }
}

/** The values of the tensor `compute` returns (run under tf.tidy), read back asynchronously; then freed. */
export async function tensorValues(compute: () => tf.Tensor): Promise<Float32Array> {
  const tensor = tf.tidy(compute);
  try {
    return (await tensor.data()) as Float32Array;
  } finally {
    tensor.dispose();
  }
}

/** The values of variables, read back asynchronously. */
export async function variableValues(variables: readonly NamedVariable[]): Promise<Float32Array[]> {
  return Promise.all(variables.map(async (v) => (await v.variable.data()) as Float32Array));
}

/** Fails when tensors created since `baseline` (a `tf.memory().numTensors`) are still alive. */
export function assertReleased(label: string, baseline: number, what = 'after dispose()'): void {
  const left = tf.memory().numTensors - baseline;
  check(left === 0, () => `${label}: ${left} tensors remain ${what}`);
}

export interface ContractOptions {
  /** Samples per batch; at least 2 so BatchNorm batch statistics are not degenerate. Default 2 per task. */
  batchSize?: number;
  seed?: number;
}
