import { strict as assert, AssertionError } from 'node:assert';
import path from 'node:path';
import { z } from 'zod';
import { builtinPlugins } from '../plugins/index.js';
import { backbonePlugins } from '../plugins/backbone/index.js';
import { backendPlugins } from '../plugins/backend/index.js';
import { datasetPlugins } from '../plugins/dataset/index.js';
import { evaluatorPlugins } from '../plugins/evaluator/index.js';
import { lossPlugins } from '../plugins/loss/index.js';
import { methodPlugins } from '../plugins/method/index.js';
import { weightingPlugins } from '../plugins/weighting/index.js';
import type { AnyPluginOf, BackboneFactory, MtlModel, TripletLossFunction } from '../src/kinds/index.js';
import { findAdapter } from '../src/backend/webgpu/adapter.js';
import { definePlugin } from '../src/plugin/define.js';
import { PLUGIN_KINDS } from '../src/plugin/types.js';
import {
  CONTRACT_REPORT,
  checkBackboneContract,
  checkBackendContract,
  checkDatasetContract,
  checkEvaluatorContract,
  checkLossContract,
  checkMethodContract,
  checkWeightingContract,
} from '../src/testing/index.js';
import * as tf from '../src/tf.js';
import { celebaImages, writeCelebaFixture } from './fixtures/celeba.js';
import { shoes, writeZapposFixture } from './fixtures/zappos.js';
import { BACKBONE_CASES, METHOD_CASES, createBackbone, smallTiny } from './helpers/contract-cases.js';
import { tempDir } from './helpers/files.js';

const LOSS_CASES: Record<string, readonly object[]> = {
  triplet: [{}, { margin: 0.5 }],
  'margin-ranking': [{}],
};

/** Options, and the values the evaluator must give on perfect embeddings (the harness's known answers). */
const EVALUATOR_CASES: Record<string, { options: object; perfect: Record<string, number> }> = {
  'triplet-accuracy': {
    options: { tripletsPerTask: 50 },
    perfect: { 'triplet-accuracy': 1, 'triplet-accuracy/colour': 1, 'triplet-accuracy/shape': 1 },
  },
  // Colour has 8 images a label: 7 relevant to each query, 5 of them in the top 5.
  retrieval: {
    options: { k: [1, 5] },
    perfect: { 'mAP@5': 1, 'precision@5': 1, 'recall@5/colour': 5 / 7, 'skipped-queries/colour': 0 },
  },
  storage: {
    options: {},
    perfect: {
      'params.total': CONTRACT_REPORT.totalParams,
      bytes: CONTRACT_REPORT.bytes,
      'gallery-passes': CONTRACT_REPORT.galleryPasses,
    },
  },
};

/** Options of each weighting strategy: the defaults, and the variants that take another path. */
const WEIGHTING_CASES: Record<string, readonly object[]> = {
  equal: [{}],
  uncertainty: [{}, { lr: 0.1 }],
  gradnorm: [{}],
  mgda: [{}, { normalization: 'loss+' }, { upperBound: true }],
  dwa: [{ window: 2 }],
  pcgrad: [{}],
  graddrop: [{}, { leak: 0.2 }],
  gradvac: [{}, { groups: 'variable' }],
  imtl: [{}, { lossScale: false }],
  cagrad: [{}, { rescale: 2 }],
  'nash-mtl': [{}, { updateWeightsEvery: 2 }],
  rlw: [{}],
  'aligned-mtl': [{}],
  famo: [{}],
  'db-mtl': [{}, { betaSigma: 0.5 }],
};

/**
 * Whether each built-in backend loads here: tfjs-node's are optional and not installed; webgpu loads where
 * Dawn finds an adapter (in CI Mesa's software driver, installed by .ci/run), looked up when its test runs.
 */
const BACKEND_CASES: Record<string, boolean | (() => Promise<boolean>)> = {
  cpu: true,
  wasm: true,
  tensorflow: false,
  'tensorflow-gpu': false,
  webgpu: async () => (await findAdapter('high-performance')).adapter !== null,
};

describe('contract harness', () => {
  let workspace: ReturnType<typeof tempDir>;
  before(async () => {
    workspace = tempDir();
    await writeCelebaFixture(path.join(workspace.dir, 'celeba'), celebaImages(30));
    await writeZapposFixture(path.join(workspace.dir, 'zappos'), shoes(60));
  });
  after(() => workspace.cleanup());

  /** Options per built-in dataset: small counts, and the fixtures written above for real-data loaders. */
  const datasetCases = (): Record<string, object> => ({
    shapes: { counts: { train: 24, val: 8, test: 8 } },
    faces: { counts: { train: 12, val: 4, test: 4 } },
    celeba: { root: path.join(workspace.dir, 'celeba'), attributes: 'paper7' },
    'ut-zappos50k': {
      root: path.join(workspace.dir, 'zappos'),
      triplets: 'generate',
      generator: {
        counts: { train: 40, val: 10, test: 10 },
        fractions: { train: 0.5, val: 0.25, test: 0.25 },
      },
    },
  });

  it('has a case for every registered plugin of every kind', () => {
    const cases: Record<string, readonly string[]> = {
      backbone: Object.keys(BACKBONE_CASES),
      method: Object.keys(METHOD_CASES),
      loss: Object.keys(LOSS_CASES),
      dataset: Object.keys(datasetCases()),
      evaluator: Object.keys(EVALUATOR_CASES),
      backend: Object.keys(BACKEND_CASES),
      weighting: Object.keys(WEIGHTING_CASES),
    };
    for (const kind of PLUGIN_KINDS) {
      const names = builtinPlugins.filter((p) => p.kind === kind).map((p) => p.name);
      assert.deepEqual([...names].sort(), [...(cases[kind] ?? [])].sort(), kind);
    }
  });

  for (const plugin of backbonePlugins) {
    for (const options of BACKBONE_CASES[plugin.name] ?? []) {
      it(`passes backbone ${plugin.name} ${JSON.stringify(options)}`, async () => {
        await checkBackboneContract(await createBackbone(plugin, options));
      });
    }
  }

  it('checks a backbone plugin through the build door, options included', async () => {
    const tiny = backbonePlugins.find((p) => p.name === 'tiny')!;
    await checkBackboneContract(tiny, { inputSize: 16, channels: [4], embeddingDim: 4 });
    await assert.rejects(checkBackboneContract(tiny, { channel: [4] }), /backbone tiny: options rejected/);
  });

  for (const plugin of methodPlugins) {
    for (const options of METHOD_CASES[plugin.name] ?? []) {
      it(`passes method ${plugin.name} ${JSON.stringify(options)} with 3 tasks`, async () => {
        await checkMethodContract(plugin, options, smallTiny(), 3);
      });
    }
  }

  for (const plugin of lossPlugins) {
    for (const options of LOSS_CASES[plugin.name] ?? []) {
      it(`passes loss ${plugin.name} ${JSON.stringify(options)}, gradient against finite differences`, async () => {
        const { compared } = await checkLossContract(plugin, options);
        assert.ok(compared >= 48, `${compared} coordinates compared`);
      });
    }
  }

  for (const plugin of datasetPlugins) {
    it(`passes dataset ${plugin.name}`, async () => {
      const report = await checkDatasetContract(plugin, datasetCases()[plugin.name], {
        cacheDir: path.join(workspace.dir, 'cache'),
      });
      assert.ok(report.sizes.train > 0 && report.tasks.length > 0);
    });
  }

  for (const plugin of evaluatorPlugins) {
    it(`passes evaluator ${plugin.name} with its known answers`, async () => {
      const { options, perfect } = EVALUATOR_CASES[plugin.name]!;
      await checkEvaluatorContract(plugin, options, { expectPerfect: perfect });
    });
  }

  for (const plugin of backendPlugins) {
    it(`passes backend ${plugin.name}`, async () => {
      const report = await checkBackendContract(plugin, {});
      const expected = BACKEND_CASES[plugin.name]!;
      assert.equal(
        report.available,
        typeof expected === 'boolean' ? expected : await expected(),
        JSON.stringify(report),
      );
      assert.equal(tf.getBackend(), 'cpu', 'the active backend is restored');
    });
  }

  for (const plugin of weightingPlugins) {
    for (const options of WEIGHTING_CASES[plugin.name] ?? []) {
      it(`passes weighting ${plugin.name} ${JSON.stringify(options)}`, async () => {
        const report = await checkWeightingContract(plugin, options);
        assert.ok(report.last.every(Number.isFinite));
      });
    }
  }

  describe('fails broken plugins', () => {
    /** A method built on shared, broken by `breakModel`. */
    function brokenMethod(breakModel: (model: MtlModel) => MtlModel): AnyPluginOf<'method'> {
      const shared = methodPlugins.find((p) => p.name === 'shared')!;
      return definePlugin({
        kind: 'method',
        name: 'broken',
        version: '0.0.0',
        description: 'deliberately broken',
        options: z.strictObject({}),
        create: async (_o, context) => breakModel(await shared.create({ heads: false }, context)),
      });
    }

    it('catches a tensor leaked by every embed call', async () => {
      const leaky = brokenMethod((model) => ({
        ...model,
        embed: (images, taskIds, context) => {
          tf.keep(tf.zeros([1]));
          return model.embed(images, taskIds, context);
        },
        parameters: () => model.parameters(),
        report: () => model.report(),
        dispose: () => model.dispose(),
      }));
      await assert.rejects(checkMethodContract(leaky, {}, smallTiny(), 2), (e: Error) => {
        assert.ok(e instanceof AssertionError);
        assert.match(e.message, /tensors leaked by one call/);
        return true;
      });
    });

    it('catches a report that disagrees with the parameters', async () => {
      const wrong = brokenMethod((model) => ({
        ...model,
        embed: (images, taskIds, context) => model.embed(images, taskIds, context),
        parameters: () => model.parameters(),
        report: () => ({ ...model.report(), sharedParams: 1 }),
        dispose: () => model.dispose(),
      }));
      await assert.rejects(checkMethodContract(wrong, {}, smallTiny(), 2), /report sharedParams 1/);
    });

    it('catches a declared shared prefix that is not a split of embed', async () => {
      const modulation = methodPlugins.find((p) => p.name === 'modulation')!;
      const wrongSplit = definePlugin({
        kind: 'method',
        name: 'wrong-split',
        version: '0.0.0',
        description: 'declares a shared prefix whose completion skips a modulation',
        options: z.strictObject({}),
        create: async (_o, context) => {
          const model = await modulation.create(modulation.options.parse({}), context);
          const declared = model.taskDependence;
          assert.ok(declared?.from === 'features');
          return Object.assign(model, {
            taskDependence: {
              ...declared,
              // A completion fed other features than shared() gives, as a wrong split index would be.
              complete: (features: tf.Tensor, taskIds: Int32Array, c: { training: boolean }) =>
                tf.tidy(() => declared.complete(tf.relu(tf.neg(features)), taskIds, c)),
            },
          });
        },
      });
      await assert.rejects(
        checkMethodContract(wrongSplit, {}, smallTiny(), 3),
        /complete\(shared\(x\)\) differs from embed\(x\)/,
      );
    });

    it("catches a method whose embeddings in inference depend on the batch's other samples", async () => {
      const modulation = methodPlugins.find((p) => p.name === 'modulation')!;
      const mixing = definePlugin({
        kind: 'method',
        name: 'mixing',
        version: '0.0.0',
        description: 'deliberately broken',
        options: z.strictObject({}),
        create: async (_o, context) => {
          const model = await modulation.create(modulation.options.parse({}), context);
          return {
            ...model,
            taskCount: model.taskCount,
            embeddingDim: model.embeddingDim,
            // As a BatchNorm using batch statistics in inference would.
            embed: (images, taskIds, c) =>
              tf.tidy(() => {
                const y = model.embed(images, taskIds, c);
                return tf.add(y, tf.mean(y, 0, true));
              }),
            parameters: () => model.parameters(),
            report: () => model.report(),
            dispose: () => model.dispose(),
          };
        },
      });
      await assert.rejects(checkMethodContract(mixing, {}, smallTiny(), 2), /routing mixes tasks/);
    });

    it('catches a backbone variable outside every stage name', async () => {
      const base = smallTiny();
      const unnamed: BackboneFactory = {
        description: base.description,
        instantiate(scope, seed) {
          const net = base.instantiate(scope, seed);
          const stray = { name: `${scope}stray`, variable: tf.variable(tf.zeros([3])), trainable: false };
          return {
            ...net,
            runStage: (i, x, c) => net.runStage(i, x, c),
            variables: () => [...net.variables(), stray],
            dispose: () => {
              net.dispose();
              stray.variable.dispose();
            },
          };
        },
      };
      await assert.rejects(checkBackboneContract(unnamed), /"contract\/stray" is not under a stage's name/);
    });

    it('catches a backbone variable that no gradient reaches', async () => {
      const base = smallTiny();
      const unused: BackboneFactory = {
        description: base.description,
        instantiate(scope, seed) {
          const net = base.instantiate(scope, seed);
          const orphan = {
            name: `${scope}conv1/orphan`,
            variable: tf.variable(tf.zeros([3])),
            trainable: true,
          };
          return {
            ...net,
            runStage: (i, x, c) => net.runStage(i, x, c),
            variables: () => [...net.variables(), orphan],
            dispose: () => {
              net.dispose();
              orphan.variable.dispose();
            },
          };
        },
      };
      await assert.rejects(checkBackboneContract(unused), /no gradient reaches "contract\/conv1\/orphan"/);
    });

    /** The built-in triplet loss with `compute` replaced. */
    function brokenLoss(compute: (loss: TripletLossFunction) => TripletLossFunction['compute']) {
      const triplet = lossPlugins.find((p) => p.name === 'triplet')!;
      return definePlugin({
        ...triplet,
        name: 'broken',
        create: async (o, c) => {
          const loss = await triplet.create(o, c);
          return { distance: loss.distance, compute: compute(loss) };
        },
      });
    }

    it('catches a loss whose gradient is not its derivative', async () => {
      // The value is right; the gradient flowing back is doubled.
      const doubled = brokenLoss((loss) => (a, p, n) => {
        const f = tf.customGrad((...inputs) => ({
          value: tf.clone(inputs[0] as tf.Tensor),
          gradFunc: (dy: tf.Tensor) => tf.mul(dy, 2),
        }));
        return tf.tidy(() => f(loss.compute(a, p, n)) as tf.Tensor1D);
      });
      await assert.rejects(
        checkLossContract(doubled, {}),
        /loss broken: d\(loss\)\/d\(anchor\[\d, \d\]\) is .*, finite differences give/,
      );
    });

    it('catches a weighting that keeps state without saving it, and one that leaks a tensor per step', async () => {
      const uncertainty = weightingPlugins.find((p) => p.name === 'uncertainty')!;
      const forgetful = definePlugin({
        ...uncertainty,
        name: 'forgetful',
        create: async (o, c) => {
          const { state: _state, restore: _restore, ...rest } = await uncertainty.create(o, c);
          return rest;
        },
      });
      await assert.rejects(
        checkWeightingContract(forgetful, {}),
        /restored from the state saved at step 4 .*must expose state\(\) and restore\(\)/,
      );
      const pcgrad = weightingPlugins.find((p) => p.name === 'pcgrad')!;
      const leaky = definePlugin({
        ...pcgrad,
        name: 'leaky',
        create: async (o, c) => {
          const strategy = await pcgrad.create(o, c);
          if (strategy.uses !== 'gradients') throw new Error('pcgrad is gradient-based');
          return {
            ...strategy,
            update: (gradients, step) => {
              tf.keep(tf.zeros([1]));
              return strategy.update(gradients, step);
            },
          };
        },
      });
      await assert.rejects(checkWeightingContract(leaky, {}), /the tensor count changes from step to step/);
    });

    it('catches a loss that mixes the triplets of a batch', async () => {
      const centred = brokenLoss(
        (loss) => (a, p, n) =>
          tf.tidy(() => {
            const values = loss.compute(a, p, n);
            return tf.sub(values, tf.mean(values)) as tf.Tensor1D;
          }),
      );
      await assert.rejects(checkLossContract(centred, {}), /triplet 0 costs .* in a batch and .* alone/);
    });

    it('catches a dataset whose splits share an image, and one that changes under the same seed', async () => {
      const shapes = datasetPlugins.find((p) => p.name === 'shapes')!;
      const options = { counts: { train: 12, val: 4, test: 4 } };
      const leaky = definePlugin({
        ...shapes,
        name: 'leaky',
        create: async (o, c) => {
          const dataset = await shapes.create(o, c);
          const test = { ...dataset.splits.test, source: (i: number) => dataset.splits.train.source(i) };
          return { ...dataset, splits: { ...dataset.splits, test } };
        },
      });
      await assert.rejects(
        checkDatasetContract(leaky, options),
        /shapes.* is in both the train and the test split/,
      );
      let calls = 0;
      const drifting = definePlugin({
        ...shapes,
        name: 'drifting',
        create: (o, c) => shapes.create(o, { ...c, seed: c.seed + calls++ }),
      });
      await assert.rejects(checkDatasetContract(drifting, options), /same seed, different train labels/);
    });

    it('catches an evaluator that scores perfect embeddings worse than random ones', async () => {
      const retrieval = evaluatorPlugins.find((p) => p.name === 'retrieval')!;
      const upsideDown = definePlugin({
        ...retrieval,
        name: 'upside-down',
        create: async (o, c) => {
          const evaluator = await retrieval.create(o, c);
          return {
            evaluate: async (context) =>
              (await evaluator.evaluate(context)).map((m) => ({ ...m, higherIsBetter: !m.higherIsBetter })),
          };
        },
      });
      await assert.rejects(
        checkEvaluatorContract(upsideDown, {}),
        /mAP@1\/colour scores perfect embeddings 1, worse than random ones/,
      );
    });

    it('catches a backend whose load throws instead of reporting absence', async () => {
      const cpu = backendPlugins.find((p) => p.name === 'cpu')!;
      const throwing = definePlugin({
        ...cpu,
        name: 'throwing',
        create: () => ({
          tfBackendName: 'throwing',
          load: () => Promise.reject(new Error('libtensorflow.so: cannot open shared object file')),
        }),
      });
      await assert.rejects(
        checkBackendContract(throwing, {}),
        /backend throwing: load\(\) threw \(report absence as \{ available: false, reason \}\): libtensorflow/,
      );
    });
  });
});
