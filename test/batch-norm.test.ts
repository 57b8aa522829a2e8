/**
 * ConvBn in inference mode, which folds its batch normalisation into the convolution (one FusedConv2D),
 * against the unfolded formula written out with plain tfjs ops on cpu: on cpu, and on wasm (with the native
 * pack's fused convolution where it is built), with and without gamma and ReLU, and trained moving statistics.
 */
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/backend/wasm-training-kernels.js';
import { ConvBn, initializers, VariableStore } from '../src/nn/index.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';
import { normal, relativeError } from './helpers/kernels.js';

describe('ConvBn inference (batch normalisation folded into the convolution)', function () {
  before(function () {
    registerWasmTrainingKernels();
  });

  after(async function () {
    await tf.setBackend('cpu');
  });

  for (const scale of [true, false])
    for (const relu of [true, false])
      it(`matches conv → normalise → ${relu ? 'ReLU' : 'identity'}${scale ? '' : ' (no gamma)'} on cpu and wasm within 1e-5`, async function () {
        const rng = new Rng(40);
        const images = normal(rng, [3, 9, 11, 4]);
        const [gammaValues, betaValues] = [normal(rng, [6]).values, normal(rng, [6]).values];
        const run = async (backend: string) => {
          await tf.setBackend(backend);
          const unit = new ConvBn(
            VariableStore.root('t/', 5),
            {
              kernelSize: 3,
              inChannels: 4,
              outChannels: 6,
              padding: 'same',
              stride: 2,
              init: initializers.heNormal('fanOut'),
            },
            { decay: 0.5, epsilon: 1e-3, scale },
            relu,
          );
          const x = tf.tensor4d(images.values, images.shape as [number, number, number, number]);
          // Moving statistics away from their initial 0 and 1, and a gamma away from 1.
          tf.dispose(unit.apply(x, { training: true }));
          unit.bn.gamma?.assign(tf.tensor1d(gammaValues));
          unit.bn.beta.assign(tf.tensor1d(betaValues));
          const folded = tf.tidy(() => unit.apply(x, { training: false }).dataSync() as Float32Array);
          const stats = [
            unit.conv.kernel,
            unit.bn.movingMean,
            unit.bn.movingVariance,
            unit.bn.beta,
            unit.bn.gamma,
          ];
          const values = stats.map((t) => t && { shape: t.shape, values: t.dataSync() as Float32Array });
          unit.conv.kernel.dispose();
          tf.dispose([x, ...Object.values(unit.bn).filter((v) => v instanceof tf.Variable)]);
          return { folded, values };
        };
        const cpu = await run('cpu');
        const wasm = await run('wasm');
        // The unfolded formula on cpu, from the cpu run's weights and statistics.
        await tf.setBackend('cpu');
        const expected = tf.tidy(() => {
          const [kernel, mean, variance, beta, gamma] = cpu.values.map(
            (v) => v && tf.tensor(v.values, v.shape),
          );
          const conv = tf.conv2d(
            tf.tensor4d(images.values, images.shape as [number, number, number, number]),
            kernel as tf.Tensor4D,
            2,
            'same',
          );
          let y = tf.div(tf.sub(conv, mean!), tf.sqrt(tf.add(variance!, 1e-3)));
          if (gamma) y = tf.mul(y, gamma);
          y = tf.add(y, beta!);
          return (relu ? tf.relu(y) : y).dataSync() as Float32Array;
        });
        assert.ok(relativeError(cpu.folded, expected) <= 1e-5, `cpu: ${relativeError(cpu.folded, expected)}`);
        assert.ok(
          relativeError(wasm.folded, expected) <= 1e-5,
          `wasm: ${relativeError(wasm.folded, expected)}`,
        );
        if (relu) assert.ok(expected.some((v) => v === 0) && expected.some((v) => v > 0));
      });
});
