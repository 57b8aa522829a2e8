/** Running one kernel on the cpu reference and on another backend (wasm, webgpu), for the kernel tests. */
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import type { Rng } from '../../src/util/random.js';

export interface KernelInput {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

export function normal(rng: Rng, shape: number[]): KernelInput {
  const values = Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => rng.normal());
  return { shape, values, dtype: 'float32' };
}

/** Runs the kernel registered under `kernelName` on `backend`, or `kernelFunc` directly when given. */
export async function runKernel(
  backend: string,
  kernelName: string,
  inputs: Record<string, KernelInput>,
  attrs: tf.NamedAttrMap,
  kernelFunc?: tf.KernelFunc,
): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const out = tf.tidy(() => {
    const tensors: tf.NamedTensorMap = {};
    for (const [name, input] of Object.entries(inputs))
      tensors[name] = tf.tensor(input.values, input.shape, input.dtype ?? 'float32');
    return kernelFunc
      ? tf
          .engine()
          .makeTensorFromTensorInfo(
            kernelFunc({ inputs: tensors, attrs, backend: tf.backend() }) as tf.TensorInfo,
          )
      : (tf.engine().runKernel(kernelName, tensors, attrs) as tf.Tensor);
  });
  // Read asynchronously: a GPU backend (webgpu) has no synchronous read.
  try {
    return { shape: out.shape, values: Float32Array.from(await out.data()) };
  } finally {
    out.dispose();
  }
}

/** max|actual − expected| / max(1, max|expected|). */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  return diff / scale;
}

export type KernelComparison = (
  kernelName: string,
  inputs: Record<string, KernelInput>,
  attrs?: tf.NamedAttrMap,
  kernelFunc?: tf.KernelFunc,
) => Promise<number>;

/** Runs a kernel on cpu and on `backend` (`kernelFunc` there if given) and returns the relative error. */
export function comparisonWithCpu(backend: string): KernelComparison {
  return async (kernelName, inputs, attrs = {}, kernelFunc) => {
    const expected = await runKernel('cpu', kernelName, inputs, attrs);
    const actual = await runKernel(backend, kernelName, inputs, attrs, kernelFunc);
    assert.deepEqual(actual.shape, expected.shape, `${kernelName} output shape`);
    assert.ok(expected.values.every(Number.isFinite));
    return relativeError(actual.values, expected.values);
  };
}

/** The kernel on cpu and on wasm. */
export const compareWithCpu = comparisonWithCpu('wasm');
