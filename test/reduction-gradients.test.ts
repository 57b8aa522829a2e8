import { strict as assert } from 'node:assert';
import { selectBackend } from '../src/backend/select.js';
import { Kernel } from '../src/kernel/kernel.js';
import * as tf from '../src/tf.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/random.js';

/**
 * d/dx Σ w · reduce(x) is w broadcast back over the reduced axes (divided by their size for a mean):
 * computed here by plain loops and compared with the registered gradients, on cpu and on wasm.
 */
describe('Sum and Mean gradients (broadcast instead of ones)', () => {
  const shape = [3, 4, 5, 2];
  const cases: { axes: number[]; keepDims: boolean }[] = [
    { axes: [0], keepDims: false },
    { axes: [0, 1, 2], keepDims: true },
    { axes: [3], keepDims: false },
    { axes: [1, 3], keepDims: true },
    { axes: [0, 1, 2, 3], keepDims: false },
  ];

  for (const backend of ['cpu', 'wasm']) {
    for (const mean of [false, true]) {
      it(`${mean ? 'Mean' : 'Sum'} on ${backend} matches a plain loop over ${cases.length} axis sets`, async () => {
        // Through the backend plugin, as a run would (wasm then has mtlzoo's kernels, and the native pack if built).
        await selectBackend(
          { name: backend, options: {} },
          new Kernel({ logger: createMemoryLogger() }).registries,
        );
        try {
          const rng = new Rng(4);
          const x = tf.tensor(
            Float32Array.from({ length: 120 }, () => rng.normal()),
            shape,
          );
          for (const { axes, keepDims } of cases) {
            const outShape = shape
              .filter((_, i) => !axes.includes(i) || keepDims)
              .map((d, i) => (keepDims && axes.includes(i) ? 1 : d));
            const outSize = outShape.reduce((a, b) => a * b, 1);
            const w = Float32Array.from({ length: outSize }, () => rng.normal());
            const grad = tf.tidy(() =>
              tf.grad((input: tf.Tensor) => {
                const reduced = mean ? tf.mean(input, axes, keepDims) : tf.sum(input, axes, keepDims);
                return tf.sum(tf.mul(reduced, tf.tensor(w, outShape)));
              })(x),
            );
            const actual = await grad.data();
            grad.dispose();
            const count = axes.reduce((n, a) => n * shape[a]!, 1);
            // Plain loop: each element of x receives the weight of the output cell it was reduced into.
            const keptStrides: number[] = [];
            const keptDims = shape.map((d, i) => (axes.includes(i) ? 1 : d));
            let stride = 1;
            for (let i = shape.length - 1; i >= 0; i--) {
              keptStrides[i] = stride;
              stride *= keptDims[i]!;
            }
            for (let flat = 0; flat < 120; flat++) {
              let rest = flat;
              let target = 0;
              for (let i = shape.length - 1; i >= 0; i--) {
                const coordinate = rest % shape[i]!;
                rest = Math.floor(rest / shape[i]!);
                if (!axes.includes(i)) target += coordinate * keptStrides[i]!;
              }
              const expected = w[target]! / (mean ? count : 1);
              assert.ok(
                Math.abs(actual[flat]! - expected) < 1e-6,
                `axes ${axes} keepDims ${keepDims} at ${flat}: ${actual[flat]} vs ${expected}`,
              );
            }
          }
          x.dispose();
        } finally {
          await tf.setBackend('cpu');
        }
      });
    }
  }
});
