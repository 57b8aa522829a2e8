/**
 * The webgpu engine (@tensorflow/tfjs-backend-webgpu on Dawn) against the pure-JS cpu reference, on the
 * adapter Dawn finds: in CI Mesa's software Vulkan driver (llvmpipe, installed by .ci/run), on a GPU machine
 * the GPU. Skipped, with the reason in the suite title, where there is no adapter. llvmpipe runs shaders on
 * the CPU and the cpu reference is slow, so `npm test` runs a reduced set (small batches; one step and no
 * backbone contract for facenet-small and resnet18); `npm run test:webgpu` (MTLZOO_WEBGPU_TESTS=full) runs
 * every case with larger batches.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { backbonePlugins } from '../plugins/backbone/index.js';
import { webgpuBackendPlugin } from '../plugins/backend/webgpu.js';
import { methodPlugins } from '../plugins/method/index.js';
import { selectBackend } from '../src/backend/select.js';
import { formatAdapter } from '../src/backend/webgpu/adapter.js';
import { describeEnvironment, type Environment } from '../src/engine/environment.js';
import { tripletLosses } from '../src/engine/objective.js';
import { pixelsToTensor } from '../src/engine/pixels.js';
import { trainRun } from '../src/engine/run.js';
import { RunDir } from '../src/engine/run-dir.js';
import { Kernel } from '../src/kernel/kernel.js';
import { BatchNorm, VariableStore } from '../src/nn/index.js';
import { checkBackboneContract, checkMethodContract } from '../src/testing/index.js';
import * as tf from '../src/tf.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { TripletSampler, uniqueImages } from '../src/train/sampler.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/random.js';
import { BACKBONE_CASES, METHOD_CASES, createBackbone, smallTiny } from './helpers/contract-cases.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';
import { tempDir } from './helpers/files.js';
import { comparisonWithCpu, normal, relativeError, type KernelInput } from './helpers/kernels.js';

/** max|webgpu − cpu| / max(1, max|cpu|) for one kernel, as test/wasm-kernels.test.ts bounds wasm. */
const KERNEL_BOUND = 1e-5;
/** Loss, gradients and updated weights of a training step, relative to max(1, max|cpu|) of each tensor. */
const STEP_BOUND = 1e-4;

const compare = comparisonWithCpu('webgpu');
const FULL = process.env.MTLZOO_WEBGPU_TESTS === 'full';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const EXPLICIT: Pad = [
  [0, 0],
  [1, 2],
  [2, 0],
  [0, 0],
];
// Odd, unequal spatial sizes so that strides and pads do not divide evenly.
const H = 9;
const W = 11;

function kernelLabel(attrs: object): string {
  return Object.entries(attrs)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
}

describe(`webgpu backend (${FULL ? 'all cases' : 'reduced set'})`, function () {
  this.timeout(FULL ? 600_000 : 120_000);

  before(async function () {
    // Dawn is loaded here, not at import: a top-level await in a test file upsets
    // test/backprop-memory.test.ts's comparison of peaks when mocha loads every file into one process.
    const engine = await webgpuBackendPlugin.create(webgpuBackendPlugin.options.parse({}), {});
    const loaded = await engine.load();
    if (!loaded.available) {
      this.test!.parent!.title += ` (skipped: ${loaded.reason})`;
      this.skip();
    }
  });

  after(async function () {
    await tf.setBackend('cpu');
  });

  it('is chosen when named and records its adapter; auto passes a software adapter over', async function () {
    const kernel = new Kernel({ logger: createMemoryLogger() });
    const choice = await selectBackend({ name: 'webgpu', options: {} }, kernel.registries);
    assert.equal(tf.getBackend(), 'webgpu');
    const adapter = choice.adapter!;
    assert.ok(adapter.vendor.length + adapter.description.length > 0, JSON.stringify(adapter));
    assert.equal(typeof adapter.isFallbackAdapter, 'boolean');
    assert.match(choice.attempts[0]!.reason, /^passed the training smoke test \(adapter /);
    const environment = describeEnvironment(choice);
    assert.deepEqual(environment.adapter, adapter);
    assert.equal(environment.gpu, formatAdapter(adapter));

    const auto = await selectBackend({ name: 'auto', options: {} }, kernel.registries);
    const attempt = auto.attempts.find((a) => a.name === 'webgpu');
    if (adapter.isFallbackAdapter) {
      assert.equal(attempt?.selected, false);
      assert.match(attempt.reason, /only a software adapter .* name `backend: webgpu` to use it/);
    } else {
      assert.ok(['webgpu', 'tensorflow-gpu'].includes(auto.name), `auto chose ${auto.name}`);
    }
  });

  describe('kernels against cpu', function () {
    before(async function () {
      await tf.setBackend('webgpu');
    });

    const convGrid: { k: number; stride: number; pad: Pad }[] = [];
    for (const k of [1, 3])
      for (const stride of [1, 2])
        for (const pad of ['same', 'valid', EXPLICIT] as Pad[]) convGrid.push({ k, stride, pad });

    it(`Conv2D and both its gradients match cpu within ${KERNEL_BOUND} on ${convGrid.length} shapes`, async function () {
      const rng = new Rng(7);
      for (const { k, stride, pad } of convGrid) {
        const xShape: [number, number, number, number] = [2, H, W, 3];
        const filterShape: [number, number, number, number] = [k, k, 3, 4];
        const outShape = tf.backend_util.computeConv2DInfo(xShape, filterShape, stride, 1, pad).outShape;
        const [x, filter, dy] = [xShape, filterShape, outShape].map((s) => normal(rng, s));
        const attrs = { strides: stride, pad, dataFormat: 'NHWC', dilations: 1 };
        const named = attrs as unknown as tf.NamedAttrMap;
        for (const [kernelName, error] of [
          [tf.Conv2D, await compare(tf.Conv2D, { x: x!, filter: filter! }, named)],
          [
            tf.Conv2DBackpropFilter,
            await compare(tf.Conv2DBackpropFilter, { x: x!, dy: dy! }, { ...named, filterShape }),
          ],
          [
            tf.Conv2DBackpropInput,
            await compare(
              tf.Conv2DBackpropInput,
              { dy: dy!, filter: filter! },
              { ...named, inputShape: xShape },
            ),
          ],
        ] as const)
          assert.ok(error <= KERNEL_BOUND, `${kernelName} ${kernelLabel({ k, stride, pad })}: ${error}`);
      }
    });

    it(`depthwise convolution gradients match cpu within ${KERNEL_BOUND} on ${convGrid.length} shapes`, async function () {
      const rng = new Rng(8);
      for (const { k, stride, pad } of convGrid) {
        const xShape: [number, number, number, number] = [2, H, W, 3];
        const filterShape: [number, number, number, number] = [k, k, 3, 2];
        const outShape = tf.backend_util.computeConv2DInfo(
          xShape,
          filterShape,
          stride,
          1,
          pad,
          undefined,
          true,
        ).outShape;
        const [x, filter, dy] = [xShape, filterShape, outShape].map((s) => normal(rng, s));
        const attrs = {
          strides: stride,
          pad,
          dilations: 1,
          dataFormat: 'NHWC',
        } as unknown as tf.NamedAttrMap;
        const label = kernelLabel({ k, stride, pad });
        const dFilter = await compare(
          tf.DepthwiseConv2dNativeBackpropFilter,
          { x: x!, dy: dy! },
          { ...attrs, filterShape },
        );
        assert.ok(dFilter <= KERNEL_BOUND, `filter gradient ${label}: ${dFilter}`);
        const dInput = await compare(
          tf.DepthwiseConv2dNativeBackpropInput,
          { dy: dy!, filter: filter! },
          { ...attrs, inputShape: xShape },
        );
        assert.ok(dInput <= KERNEL_BOUND, `input gradient ${label}: ${dInput}`);
      }
    });

    it(`pooling gradients match cpu within ${KERNEL_BOUND}, tied maxima included (mtlzoo's MaxPoolGrad)`, async function () {
      const rng = new Rng(11);
      for (const size of [2, 3])
        for (const stride of [1, 2])
          for (const pad of ['same', 'valid', 1] as const) {
            const xShape: [number, number, number, number] = [2, H, W, 3];
            // Rounded ReLU outputs: windows with several equal maxima, as after a ReLU in the nets.
            const x = normal(rng, xShape);
            x.values = x.values.map((v) => Math.max(0, Math.round(v * 2)));
            const dy = normal(rng, tf.backend_util.computePool2DInfo(xShape, size, stride, 1, pad).outShape);
            const attrs = { filterSize: size, strides: stride, pad } as unknown as tf.NamedAttrMap;
            const label = kernelLabel({ size, stride, pad });
            const max = await compare(tf.MaxPoolGrad, { dy, input: x, output: dy }, attrs);
            assert.ok(max <= KERNEL_BOUND, `MaxPoolGrad ${label}: ${max}`);
            const average = await compare(tf.AvgPoolGrad, { dy, input: x }, attrs);
            assert.ok(average <= KERNEL_BOUND, `AvgPoolGrad ${label}: ${average}`);
          }
    });

    it('GatherV2 matches cpu exactly over axes, batch dims and dtypes', async function () {
      const rng = new Rng(12);
      const x = normal(rng, [3, 4, 5, 2]);
      const ints: KernelInput = {
        ...x,
        values: Int32Array.from(x.values, (v) => Math.round(v * 10)),
        dtype: 'int32',
      };
      const indices = (values: number[], shape = [values.length]): KernelInput => ({
        shape,
        values: Int32Array.from(values),
        dtype: 'int32',
      });
      for (const [idx, axis, batchDims] of [
        [indices([2, 0, 2, 1]), 0, 0],
        [indices([4, 0, 1, 1, 2, 3], [2, 3]), 2, 0],
        [indices([1, 0, 3, 2, 0, 0], [3, 2]), 1, 1],
      ] as const)
        for (const input of [x, ints]) {
          const error = await compare(tf.GatherV2, { x: input, indices: idx }, { axis, batchDims });
          assert.equal(error, 0, `${input.dtype} axis ${axis} batchDims ${batchDims}`);
        }
    });

    it(`UnsortedSegmentSum matches cpu within ${KERNEL_BOUND}, dropping out-of-range ids (mtlzoo's kernel)`, async function () {
      const rng = new Rng(9);
      for (const ids of [
        [2, 0, 2, 1, 3, 0],
        [2, 0, 2, -1, 5, 0],
      ]) {
        const segmentIds: KernelInput = { shape: [6], values: Int32Array.from(ids), dtype: 'int32' };
        for (const shape of [[6], [6, 5], [6, 3, 2]]) {
          const error = await compare(
            tf.UnsortedSegmentSum,
            { x: normal(rng, shape), segmentIds },
            { numSegments: 4 },
          );
          assert.ok(error <= KERNEL_BOUND, `ids ${ids}, x of shape ${shape}: ${error}`);
        }
      }
    });

    it(`AddN of more tensors than one shader binds matches cpu within ${KERNEL_BOUND}, partial sums freed (mtlzoo's kernel)`, async function () {
      const rng = new Rng(15);
      const gpuBytes = () => (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU;
      // Under WebGPU's default limits one shader sums 7 tensors: 8 and 17 take partial sums, 50 two levels.
      for (const count of [2, 7, 8, 17, 50]) {
        const terms = Array.from({ length: count }, () => normal(rng, [3, 5]));
        const sum = async (backend: string) => {
          await tf.setBackend(backend);
          const before = gpuBytes();
          const out = tf.tidy(() => tf.addN(terms.map((t) => tf.tensor(t.values, t.shape))));
          const values = Float32Array.from(await out.data());
          out.dispose();
          assert.equal(gpuBytes(), before, `${backend}: bytes held after the sum of ${count}`);
          return values;
        };
        const expected = await sum('cpu');
        const error = relativeError(await sum('webgpu'), expected);
        assert.ok(error <= KERNEL_BOUND, `${count} tensors: ${error}`);
      }
    });

    it(`reductions and matmuls of a training step match cpu within ${KERNEL_BOUND}`, async function () {
      const rng = new Rng(10);
      // Batch statistics of an activation: long float32 sums over the leading axes.
      const activation = normal(rng, [24, 16, 16, 8]);
      for (const kernelName of [tf.Sum, tf.Mean])
        for (const axis of [[0, 1, 2], [3], [1, 2]]) {
          const error = await compare(kernelName, { x: activation }, { axis, keepDims: false });
          assert.ok(error <= KERNEL_BOUND, `${kernelName} axis ${axis}: ${error}`);
        }
      for (const transposeA of [false, true])
        for (const transposeB of [false, true]) {
          const a = normal(rng, transposeA ? [40, 6] : [6, 40]);
          const b = normal(rng, transposeB ? [5, 40] : [40, 5]);
          const error = await compare(tf.BatchMatMul, { a, b }, { transposeA, transposeB });
          assert.ok(
            error <= KERNEL_BOUND,
            `BatchMatMul ${kernelLabel({ transposeA, transposeB })}: ${error}`,
          );
        }
    });

    it(`batch normalisation's value and gradients match cpu within ${KERNEL_BOUND}`, async function () {
      const x = normal(new Rng(13), [6, 5, 7, 4]);
      async function run(backend: string): Promise<Float32Array[]> {
        await tf.setBackend(backend);
        const store = VariableStore.root('bn/', 3);
        const bn = new BatchNorm(store, 4, { decay: 0.9, epsilon: 1e-3, scale: true });
        const input = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
        const weights = tf.tensor(normal(new Rng(14), x.shape).values, x.shape);
        const f = (t: tf.Tensor) => tf.sum(tf.mul(bn.apply(t as tf.Tensor4D, { training: true }), weights));
        const { value, grads } = tf.variableGrads(() => f(input) as tf.Scalar, [bn.gamma!, bn.beta]);
        const dx = tf.grad(f)(input);
        const outputs = [
          value,
          dx,
          grads[bn.gamma!.name]!,
          grads[bn.beta.name]!,
          bn.movingMean,
          bn.movingVariance,
        ];
        try {
          return await Promise.all(outputs.map(async (t) => Float32Array.from(await t.data())));
        } finally {
          tf.dispose([input, weights, value, dx, ...Object.values(grads)]);
          store.dispose();
        }
      }
      const expected = await run('cpu');
      const actual = await run('webgpu');
      expected.forEach((e, i) => {
        const error = relativeError(actual[i]!, e);
        assert.ok(error <= KERNEL_BOUND, `output ${i}: ${error}`);
      });
    });
  });
  describe('training steps against cpu', function () {
    /**
     * Options, whether a case takes one step on one task rather than two on two (the reduced set: cpu is
     * slow), and the triplets per task of that light step. facenet-small takes two: on one triplet (3
     * images) its BatchNorm statistics over so small a batch amplify float32 rounding until any two engines
     * differ by ~1e-4 (wasm against cpu 2.3e-4, webgpu 1.2e-4); on 6 images webgpu is within 4e-5.
     * facenet-small is light in the full set too: on two steps of 12 images cpu, wasm and webgpu (llvmpipe
     * and an NVIDIA H200 alike) each differ from the other two by 4e-3 to 1.6e-2, from the kernel gradient
     * of block2's reduce convolution down, while its BatchNorm beta (a sum over positions) and every later
     * layer agree within 1e-4: most likely the 2×2 max pool after it routes gradients differently where
     * maxima are nearly equal, which float32 rounding decides differently in each engine.
     */
    const BACKBONES: Record<string, { options: string; light: boolean; lightTriplets: number }> = {
      tiny: {
        options: '{ inputSize: 16, channels: [4, 8], embeddingDim: 8 }',
        light: false,
        lightTriplets: 1,
      },
      'facenet-small': { options: '{ inputSize: 48, embeddingDim: 16 }', light: true, lightTriplets: 2 },
      resnet18: { options: '{ inputSize: 32, embeddingDim: 8 }', light: !FULL, lightTriplets: 1 },
    };
    let workspace: ReturnType<typeof tempDir>;
    before(() => {
      workspace = tempDir();
    });
    after(() => workspace.cleanup());

    /** Per step: loss, every gradient, every variable after the Adam update (BatchNorm statistics included). */
    async function train(
      backend: string,
      backbone: string,
      steps: number,
    ): Promise<{ label: string; values: Float32Array }[]> {
      const { options: backboneOptions, light, lightTriplets } = BACKBONES[backbone]!;
      const config = smallConfig({ method: 'modulation' })
        .replace('backend: cpu', `backend: ${backend}`)
        .replace(
          'name: tiny\n  options: { inputSize: 16, channels: [4, 8], embeddingDim: 8 }',
          `name: ${backbone}\n  options: ${backboneOptions}`,
        )
        .replace('counts: { train: 160, val: 48, test: 48 }', 'counts: { train: 24, val: 6, test: 6 }')
        .replace('tasks: [colour, shape, position]', light ? 'tasks: [colour]' : 'tasks: [colour, position]')
        .replace('tripletsPerTask: 4', `tripletsPerTask: ${light ? lightTriplets : 2}`);
      const { kernel, loaded } = await loadSmall(workspace.dir, config, `${backbone}-${backend}.yaml`);
      const experiment = await kernel.build(loaded);
      assert.equal(experiment.backbone.description.name, backbone);
      const { dataset, model, loss } = experiment;
      const { train: options, seed } = loaded.config;
      const sampler = new TripletSampler(dataset.splits.train, dataset.tasks, seed, options.batch);
      const optimizer = createOptimizer(options.optimizer);
      const parameters = model.parameters();
      const trainable = parameters.filter((p) => p.trainable);
      const record: { label: string; values: Float32Array }[] = [];
      const read = async (label: string, t: tf.Tensor) =>
        record.push({ label, values: Float32Array.from(await t.data()) });
      const tensorCounts: number[] = [];
      try {
        for (let step = 0; step < steps; step++) {
          const batch = uniqueImages(sampler.batch(step));
          const images = pixelsToTensor(
            await dataset.splits.train.pixels(Array.from(batch.images)),
            dataset.imageShape,
          );
          // Semi-hard mining: the negatives are chosen on the device, from this backend's own embeddings.
          const { value, grads } = tf.variableGrads(
            () =>
              tf.mean(
                tripletLosses(model, loss, images, batch, 'semi-hard', dataset.splits.train).losses,
              ) as tf.Scalar,
            trainable.map((p) => p.variable),
          );
          await read(`step ${step} loss`, value);
          for (const p of trainable) await read(`step ${step} d${p.name}`, grads[p.variable.name]!);
          optimizer.applyGradients(grads);
          tf.dispose([images, value, ...Object.values(grads)]);
          for (const p of parameters) await read(`step ${step} ${p.name}`, p.variable);
          tensorCounts.push(tf.memory().numTensors);
        }
      } finally {
        optimizer.dispose();
        experiment.dispose();
      }
      // The optimizer's slots exist from the first update on: later steps leave the count where it was.
      assert.deepEqual(
        tensorCounts.slice(1),
        tensorCounts.slice(1).map(() => tensorCounts[0]),
        `${backend}: tensors per step`,
      );
      return record;
    }

    for (const [backbone, { light, lightTriplets }] of Object.entries(BACKBONES)) {
      const steps = light ? 1 : 2;
      const what = light ? `one Adam step on ${3 * lightTriplets} images` : `${steps} Adam steps on 2 tasks`;
      it(`${backbone}: ${what} with semi-hard mining equal cpu within ${STEP_BOUND} in loss, gradients and weights`, async function () {
        const expected = await train('cpu', backbone, steps);
        const actual = await train('webgpu', backbone, steps);
        assert.deepEqual(
          actual.map((r) => r.label),
          expected.map((r) => r.label),
        );
        let worst = 0;
        const over: string[] = [];
        expected.forEach((e, i) => {
          const error = relativeError(actual[i]!.values, e.values);
          worst = Math.max(worst, error);
          if (!(error <= STEP_BOUND)) over.push(`${e.label}: ${error.toExponential(2)}`);
        });
        // Every value over the bound, in order: where in the network a difference starts says what caused it.
        assert.deepEqual(over, [], `${over.length} of ${expected.length} values over ${STEP_BOUND}`);
        this.test!.title += ` (worst ${worst.toExponential(1)})`;
      });
    }
  });

  describe('contract harness on webgpu', function () {
    before(async function () {
      await tf.setBackend('webgpu');
    });

    // The other backbones' gradients are checked against cpu above; their contracts on webgpu take minutes.
    for (const plugin of backbonePlugins.filter((p) => FULL || p.name === 'tiny'))
      for (const options of BACKBONE_CASES[plugin.name] ?? [])
        it(`backbone ${plugin.name} ${JSON.stringify(options)}`, async function () {
          await checkBackboneContract(await createBackbone(plugin, options));
        });

    for (const plugin of methodPlugins)
      for (const options of METHOD_CASES[plugin.name] ?? [])
        it(`method ${plugin.name} ${JSON.stringify(options)} with 3 tasks`, async function () {
          await checkMethodContract(plugin, options, smallTiny(), 3);
        });
  });

  it('trains a small experiment to the metrics cpu reaches, tensors flat over steps, adapter recorded', async function () {
    const workspace = tempDir();
    try {
      const run = async (backend: string) => {
        const { kernel, loaded } = await loadSmall(
          workspace.dir,
          smallConfig({
            steps: 6,
            extra: '  mining: semi-hard\n  probe: { every: 3, tripletsPerTask: 4 }\n',
          }).replace('backend: cpu', `backend: ${backend}`),
          `${backend}.yaml`,
        );
        // Tensors alive, and on webgpu the bytes of GPU buffers they hold, after each step.
        const memory: { tensors: number; gpuBytes: number }[] = [];
        const record = () => {
          const { numTensors, numBytesInGPU } = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
          memory.push({ tensors: numTensors, gpuBytes: numBytesInGPU ?? 0 });
        };
        const summary = await trainRun(kernel, loaded, {
          outputDir: workspace.dir,
          name: backend,
          hooks: [{ name: 'memory', afterStep: () => record() }],
        });
        return { summary, memory };
      };
      const cpu = await run('cpu');
      const gpu = await run('webgpu');
      // From the third step on (optimizer slots and the probe's first pass exist) nothing accumulates.
      const settled = gpu.memory[2]!;
      assert.ok(settled.gpuBytes > 0, 'webgpu reports the bytes its tensors hold');
      assert.deepEqual(
        gpu.memory.slice(2),
        gpu.memory.slice(2).map(() => settled),
        JSON.stringify(gpu.memory),
      );
      const overall = (metrics: typeof cpu.summary.test) =>
        Object.fromEntries(
          metrics
            .filter((m) => m.task === undefined && !m.name.startsWith('time.'))
            .map((m) => [m.name, m.value]),
        );
      const expected = overall(cpu.summary.test);
      const actual = overall(gpu.summary.test);
      assert.deepEqual(Object.keys(actual), Object.keys(expected));
      for (const [name, value] of Object.entries(expected))
        assert.ok(Math.abs(actual[name]! - value) <= 0.02, `${name}: webgpu ${actual[name]}, cpu ${value}`);
      const environment = JSON.parse(
        await fs.readFile(new RunDir(gpu.summary.runDir).path('environment'), 'utf8'),
      ) as Environment;
      assert.equal(environment.backend, 'webgpu');
      assert.equal(environment.adapter?.description, gpu.summary.environment.adapter?.description);
      assert.ok(environment.gpu);
    } finally {
      workspace.cleanup();
    }
  });

  it('trains with gradient-based weighting as cpu does; a strategy that reads losses inside the objective is refused by name', async function () {
    const workspace = tempDir();
    try {
      const run = async (backend: string, weighting: string) => {
        const { kernel, loaded } = await loadSmall(
          workspace.dir,
          smallConfig({
            steps: 3,
            extra: `  weighting: ${weighting}\n  probe: { every: 2, tripletsPerTask: 4 }\n`,
          }).replace('backend: cpu', `backend: ${backend}`),
          `${backend}-${weighting}.yaml`,
        );
        return trainRun(kernel, loaded, { outputDir: workspace.dir, name: `${backend}-${weighting}` });
      };
      // gradvac reads the per-layer Gram matrices, pcgrad the whole one: both come from the one async read.
      for (const weighting of ['pcgrad', 'gradvac']) {
        const cpu = await run('cpu', weighting);
        const gpu = await run('webgpu', weighting);
        for (const metric of cpu.test.filter((m) => m.task === undefined && !m.name.startsWith('time.'))) {
          const other = gpu.test.find((m) => m.name === metric.name && m.task === undefined)!;
          assert.ok(
            Math.abs(other.value - metric.value) <= 0.02,
            `${weighting} ${metric.name}: webgpu ${other.value}, cpu ${metric.value}`,
          );
        }
      }
      await assert.rejects(
        run('webgpu', 'uncertainty'),
        /weighting "uncertainty" reads this step's task losses .* the webgpu engine reads back only asynchronously; use an engine with synchronous reads/,
      );
    } finally {
      workspace.cleanup();
    }
  });
});
