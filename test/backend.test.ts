import { strict as assert } from 'node:assert';
import { z } from 'zod';
import { selectBackend } from '../src/backend/select.js';
import type { MtlzooError } from '../src/errors.js';
import { Kernel } from '../src/kernel/kernel.js';
import { definePlugin } from '../src/plugin/define.js';
import * as tf from '../src/tf.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { runMtlzoo } from './helpers/process.js';

describe('backend selection on this machine', () => {
  afterEach(async () => {
    await tf.setBackend('cpu');
  });

  it('auto picks a backend that trains, and says why libtensorflow was passed over', async () => {
    const kernel = new Kernel({ logger: createMemoryLogger() });
    const choice = await selectBackend({ name: 'auto', options: {} }, kernel.registries);
    assert.equal(tf.getBackend(), choice.tfBackendName);
    const selected = choice.attempts.find((a) => a.selected);
    assert.equal(selected?.name, choice.name);
    assert.match(selected!.reason, /passed the training smoke test/);
    // Neither tfjs-node package can be installed here, and there is no GPU: each is reported, in priority
    // order, before the pick. webgpu has at most a software adapter here (test/webgpu.test.ts).
    assert.deepEqual(
      choice.attempts.slice(0, 3).map((a) => [a.name, a.selected]),
      [
        ['tensorflow-gpu', false],
        ['webgpu', false],
        ['tensorflow', false],
      ],
    );
    assert.match(
      choice.attempts[1]!.reason,
      /only a software adapter is available|no WebGPU adapter|"webgpu" .* is not installed/,
    );
    assert.match(choice.attempts[2]!.reason, /@tensorflow\/tfjs-node is not installed/);
    assert.ok(['wasm', 'cpu'].includes(choice.name));

    // The chosen engine really trains: one SGD step on a conv filter lowers the loss.
    const w = tf.variable(tf.randomNormal([3, 3, 1, 2], 0, 1, 'float32', 1));
    const x = tf.randomNormal([2, 6, 6, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const loss = () => tf.mean(tf.square(tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 1, 'same'))) as tf.Scalar;
    const before = loss().dataSync()[0]!;
    tf.train.sgd(0.1).minimize(loss);
    assert.ok(loss().dataSync()[0]! < before);
    tf.dispose([w, x]);
  });

  it("auto looks for a WebGPU adapter in a child process: Dawn's messages stay out of the run's output", async function () {
    this.timeout(120_000);
    const { code, stdout, stderr } = await runMtlzoo(['backend', '--json']);
    assert.equal(code, 0, stderr);
    const webgpu = (JSON.parse(stdout) as { attempts: { name: string; reason: string }[] }).attempts.find(
      (a) => a.name === 'webgpu',
    )!;
    // Only a machine where Dawn finds an adapter shows the difference (llvmpipe makes it warn).
    if (!/only a software adapter/.test(webgpu.reason)) this.skip();
    assert.match(webgpu.reason, /llvmpipe|software/);
    assert.doesNotMatch(stderr, /Warning|artificially reduced/);
  });

  it('an explicitly named backend that cannot load fails with the reason', async () => {
    const kernel = new Kernel({ logger: createMemoryLogger() });
    await assert.rejects(
      selectBackend({ name: 'tensorflow', options: {} }, kernel.registries),
      (error: MtlzooError) => {
        assert.equal(error.code, 'BACKEND_UNAVAILABLE');
        assert.match(
          error.message,
          /backend "tensorflow" is unavailable: tensorflow: @tensorflow\/tfjs-node is not installed/,
        );
        return true;
      },
    );
  });

  it('refuses a backend whose engine lacks a training kernel, naming the kernel', async () => {
    // A real tfjs backend (a second cpu instance) whose Conv2DBackpropFilter kernel is missing.
    const name = 'cpu-without-filter-grad';
    const kernel = new Kernel({ logger: createMemoryLogger() });
    kernel.registries.register(
      definePlugin({
        kind: 'backend',
        name,
        version: '1.0.0',
        description: 'cpu kernels minus Conv2DBackpropFilter',
        options: z.strictObject({}),
        create: () => ({
          tfBackendName: name,
          async load() {
            if (!tf.findBackendFactory(name)) {
              const cpuFactory = tf.findBackendFactory('cpu')!;
              tf.registerBackend(name, cpuFactory);
              for (const config of tf.getKernelsForBackend('cpu')) {
                if (config.kernelName !== 'Conv2DBackpropFilter')
                  tf.registerKernel({ ...config, backendName: name });
              }
            }
            return { available: true };
          },
        }),
      }),
      'test',
    );
    await assert.rejects(
      selectBackend({ name, options: {} }, kernel.registries),
      /failed the training smoke test: missing kernel Conv2DBackpropFilter/,
    );
    tf.removeBackend(name);
  });
});
