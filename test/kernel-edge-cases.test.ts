/**
 * Edge cases where the project's wasm kernels once disagreed with the cpu backend (issue 21's F1–F5 and the
 * pooling case), each checked against cpu on every path a kernel has here: as registered, its wasm path
 * alone, and its native path alone (thresholds at 0) where the pack is built.
 */
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '../src/tf.js';
import {
  nativePackUnavailableReason,
  setNativeElementThreshold,
  setNativeThreshold,
} from '../src/backend/wasm-native.js';
import {
  kernelPath,
  registerWasmTrainingKernels,
  WASM_KERNELS,
} from '../src/backend/wasm-training-kernels.js';
import { runKernel, type KernelInput } from './helpers/kernels.js';

const native = nativePackUnavailableReason() === undefined;

/** Every way a kernel runs here: as registered, then each of its paths alone. */
function paths(kernelName: string): { label: string; kernelFunc?: tf.KernelFunc }[] {
  const kernel = WASM_KERNELS.find((k) => k.kernelName === kernelName)!;
  const out: { label: string; kernelFunc?: tf.KernelFunc }[] = [{ label: 'registered' }];
  if (kernel.wasm) out.push({ label: 'wasm path', kernelFunc: kernelPath(kernelName, 'wasm') });
  if (native && kernel.native)
    out.push({ label: 'native path', kernelFunc: kernelPath(kernelName, 'native') });
  return out;
}

const input = (values: number[], shape: number[]): KernelInput => ({
  shape,
  values: Float32Array.from(values),
});

/** Runs the kernel on cpu and on each path, and asserts equal shapes and values (−∞ and NaN included). */
async function assertMatchesCpu(
  kernelName: string,
  inputs: Record<string, KernelInput>,
  attrs: tf.NamedAttrMap,
  close = 0,
): Promise<{ shape: number[]; values: number[] }> {
  const expected = await runKernel('cpu', kernelName, inputs, attrs);
  for (const { label, kernelFunc } of paths(kernelName)) {
    const actual = await runKernel('wasm', kernelName, inputs, attrs, kernelFunc).catch((error: Error) => {
      // The native path leaves empty tensors to wasm: the registered path has checked that case.
      if (label === 'native path' && /declined/.test(error.message)) return undefined;
      throw error;
    });
    if (actual === undefined) continue;
    assert.deepEqual(actual.shape, expected.shape, `${kernelName} ${label}: shape`);
    actual.values.forEach((v, i) => {
      const e = expected.values[i]!;
      const equal = Object.is(v, e) || Math.abs(v - e) <= close;
      assert.ok(equal, `${kernelName} ${label}: value ${i} is ${v}, cpu gives ${e}`);
    });
  }
  return { shape: expected.shape, values: Array.from(expected.values) };
}

describe('wasm kernels on the edge cases where they once disagreed with cpu', function () {
  let thresholds: [number, number];

  before(async function () {
    registerWasmTrainingKernels();
    thresholds = [setNativeThreshold(0), setNativeElementThreshold(0)];
    await tf.setBackend('wasm');
  });

  after(async function () {
    setNativeThreshold(thresholds[0]);
    setNativeElementThreshold(thresholds[1]);
    await tf.setBackend('cpu');
  });

  it('F1: Conv2DBackpropInput reads a dy larger than the convolution output through its leading block', async function () {
    const dy = input([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const filter = input(Array(9).fill(1), [3, 3, 1, 1]);
    const attrs = { inputShape: [1, 2, 2, 1], strides: 1, pad: 'same', dataFormat: 'NHWC' };
    const { values } = await assertMatchesCpu(tf.Conv2DBackpropInput, { dy, filter }, attrs as never);
    assert.deepEqual(values, [12, 12, 12, 12]);
  });

  it('F1: Conv2DBackpropFilter and MaxPoolGrad do too, and a dy smaller than the output is an error', async function () {
    const x = input([1, -2, 3, 4, -5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const dy = input(
      Array.from({ length: 16 }, (_, i) => i - 5),
      [1, 4, 4, 1],
    );
    const conv = { filterShape: [2, 2, 1, 1], strides: 1, pad: 'valid', dataFormat: 'NHWC' };
    await assertMatchesCpu(tf.Conv2DBackpropFilter, { x, dy }, conv as never);
    const pool = { filterSize: 2, strides: 1, pad: 'valid' };
    await assertMatchesCpu(tf.MaxPoolGrad, { dy, input: x, output: dy }, pool as never);
    const small = input([1, 2], [1, 1, 2, 1]);
    for (const { label, kernelFunc } of paths(tf.Conv2DBackpropFilter))
      await assert.rejects(
        runKernel('wasm', tf.Conv2DBackpropFilter, { x, dy: small }, conv as never, kernelFunc),
        /dy has shape \[1,1,2,1\] where \[1,2,2,1\] is expected/,
        label,
      );
  });

  it('F2: Tile with a zero repetition gives an empty tensor', async function () {
    const { shape } = await assertMatchesCpu(tf.Tile, { x: input([1, 1, 1], [1, 3]) }, { reps: [0, 1] });
    assert.deepEqual(shape, [0, 3]);
  });

  it('F3: BatchMatMul with a transposed operand and an empty inner dimension gives zeros', async function () {
    for (const [aShape, bShape, transposeA, transposeB] of [
      [[0, 2], [0, 3], true, false],
      [[2, 0], [3, 0], false, true],
      [[2, 0], [0, 3], false, false],
      [[1, 0, 2], [1, 0, 3], true, false],
    ] as const) {
      const a = input([], [...aShape]);
      const b = input([], [...bShape]);
      const { values } = await assertMatchesCpu(tf.BatchMatMul, { a, b }, { transposeA, transposeB });
      assert.deepEqual(values, [0, 0, 0, 0, 0, 0]);
    }
  });

  it('F4: Sum over leading axes is exact for whole numbers, Mean a true mean', async function () {
    const small = input([1, 1, 1, 1, 5, 5], [3, 2]);
    const { values } = await assertMatchesCpu(tf.Sum, { x: small }, { axis: 0, keepDims: false });
    assert.deepEqual(values, [7, 7]);
    // 30,000 rows of whole numbers up to 1000, of mixed sign: every column sum is a whole number below 2^24.
    const rows = 30000;
    const values2 = Array.from({ length: rows * 3 }, (_, i) => ((i * 7919) % 2001) - 1000);
    const big = input(values2, [rows, 3]);
    const exact = [0, 1, 2].map((c) => values2.filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0));
    for (const { label, kernelFunc } of paths(tf.Sum)) {
      const actual = await runKernel('wasm', tf.Sum, { x: big }, { axis: 0, keepDims: false }, kernelFunc);
      assert.deepEqual(Array.from(actual.values), exact, label);
    }
    await assertMatchesCpu(tf.Mean, { x: small }, { axis: 0, keepDims: true }, 1e-6);
  });

  it('F5: the convolution gradients on an empty batch give zeros (and empty outputs stay empty)', async function () {
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
    const x = input([], [0, 4, 4, 2]);
    const dy = input([], [0, 4, 4, 3]);
    const { values } = await assertMatchesCpu(tf.Conv2DBackpropFilter, { x, dy }, {
      ...attrs,
      filterShape: [3, 3, 2, 3],
    } as never);
    assert.deepEqual(values, Array(54).fill(0));
    const filter = input(Array(54).fill(0.5), [3, 3, 2, 3]);
    await assertMatchesCpu(tf.Conv2DBackpropInput, { dy, filter }, {
      ...attrs,
      inputShape: [0, 4, 4, 2],
    } as never);
    const depthwise = { ...attrs, filterShape: [3, 3, 2, 1] };
    await assertMatchesCpu(
      tf.DepthwiseConv2dNativeBackpropFilter,
      { x, dy: input([], [0, 4, 4, 2]) },
      depthwise as never,
    );
  });

  it('MaxPool of a 1×1 window over padding returns x where cpu does, and −∞ for windows wholly in the padding', async function () {
    const x = input(
      Array.from({ length: 12 }, (_, i) => i - 3),
      [1, 2, 2, 3],
    );
    const { values } = await assertMatchesCpu(tf.MaxPool, { x }, {
      filterSize: 1,
      strides: 2,
      pad: 1,
    } as never);
    assert.deepEqual(values, Array.from(x.values));
    const padded = await assertMatchesCpu(tf.MaxPool, { x }, { filterSize: 1, strides: 1, pad: 1 } as never);
    assert.equal(padded.values.filter((v) => v === -Infinity).length, 36);
    await assertMatchesCpu(tf.MaxPool, { x }, { filterSize: 2, strides: 1, pad: 2 } as never);
  });

  it('Cast to bool is x ≠ 0', async function () {
    const x = input([0, 3, -0.5, NaN, 0], [5]);
    const { values } = await assertMatchesCpu(tf.Cast, { x }, { dtype: 'bool' });
    assert.deepEqual(values, [0, 1, 1, 1, 0]);
  });
});
