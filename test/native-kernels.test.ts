/**
 * The native pack's kernels against the pure-JS cpu backend, on all cores for every size (thresholds 0):
 * pooling, element-wise and reduction kernels, and the convolutions on one thread (on all cores they are
 * checked in test/wasm-kernels.test.ts). Skipped when the pack is not built (sh native/build.sh) or is
 * switched off (MTLZOO_NATIVE=0).
 */
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '../src/tf.js';
import {
  nativePackUnavailableReason,
  setNativeElementThreshold,
  setNativeThreshold,
} from '../src/backend/wasm-native.js';
import { registerWasmTrainingKernels } from '../src/backend/wasm-training-kernels.js';
import { FusedBatchNorm, FusedBatchNormGrad, ScaleShift } from '../src/backend/kernel-names.js';
import { batchNormInference, batchNormTraining } from '../src/nn/batch-norm.js';
import { Rng } from '../src/util/random.js';
import { compareWithCpu, normal, relativeError, runKernel, type KernelInput } from './helpers/kernels.js';

/**
 * max|native − cpu| / max(1, max|cpu|). Element-wise ops are exact (float32 +, −, ×, ÷ are correctly rounded
 * on both); MaxPoolGrad and the sums differ by rounding only (cpu accumulates overlapping windows' dy in
 * double, the pack in float32; the pack sums rows in double, cpu in float32).
 */
const EXACT = 0;
const ROUNDING_BOUND = 1e-6;
/** As in test/wasm-kernels.test.ts: float32 sums of a few hundred products. */
const CONV_BOUND = 1e-5;

const unavailable = nativePackUnavailableReason();

describe(`native kernel pack${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, function () {
  let thresholds: [number, number];

  before(async function () {
    if (unavailable !== undefined) this.skip();
    registerWasmTrainingKernels();
    thresholds = [setNativeThreshold(0), setNativeElementThreshold(0)];
    await tf.setBackend('wasm');
  });

  after(async function () {
    if (unavailable !== undefined) return;
    setNativeThreshold(thresholds[0]);
    setNativeElementThreshold(thresholds[1]);
    await tf.setBackend('cpu');
  });

  type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  const PADS: Pad[] = [
    'same',
    'valid',
    [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  ];
  for (const kernelName of [tf.Conv2D, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter])
    it(`${kernelName} on one thread matches cpu within ${CONV_BOUND} on 36 shapes`, async function () {
      const rng = new Rng(20);
      const allCores = setNativeThreshold(Infinity);
      try {
        for (const k of [1, 3, 5])
          for (const stride of [1, 2])
            for (const pad of PADS)
              for (const batch of [1, 2]) {
                const xShape: [number, number, number, number] = [batch, 9, 11, 3];
                const filterShape: [number, number, number, number] = [k, k, 3, 4];
                const outShape = tf.backend_util.computeConv2DInfo(
                  xShape,
                  filterShape,
                  stride,
                  1,
                  pad,
                ).outShape;
                const [x, filter, dy] = [xShape, filterShape, outShape].map((shape) => normal(rng, shape));
                const common = { strides: stride, pad, dataFormat: 'NHWC' };
                const [inputs, attrs] =
                  kernelName === tf.Conv2D
                    ? [
                        { x: x!, filter: filter! },
                        { ...common, dilations: 1 },
                      ]
                    : kernelName === tf.Conv2DBackpropInput
                      ? [
                          { dy: dy!, filter: filter! },
                          { ...common, inputShape: xShape },
                        ]
                      : [
                          { x: x!, dy: dy! },
                          { ...common, filterShape },
                        ];
                const error = await compareWithCpu(kernelName, inputs, attrs as unknown as tf.NamedAttrMap);
                assert.ok(error <= CONV_BOUND, `k=${k} stride=${stride} pad=${pad} batch=${batch}: ${error}`);
              }
      } finally {
        setNativeThreshold(allCores);
      }
    });

  it(`FusedConv2D with a bias and ReLU or none matches cpu within ${CONV_BOUND} on 48 shapes`, async function () {
    const rng = new Rng(28);
    for (const k of [1, 3])
      for (const stride of [1, 2])
        for (const pad of PADS)
          for (const batch of [1, 2])
            for (const activation of ['linear', 'relu']) {
              const x = normal(rng, [batch, 9, 11, 3]);
              const filter = normal(rng, [k, k, 3, 4]);
              const bias = normal(rng, [4]);
              const attrs = { strides: stride, pad, dataFormat: 'NHWC', dilations: 1, activation };
              const error = await compareWithCpu(
                tf.FusedConv2D,
                { x, filter, bias },
                attrs as unknown as tf.NamedAttrMap,
              );
              assert.ok(
                error <= CONV_BOUND,
                `k=${k} stride=${stride} pad=${pad} batch=${batch} ${activation}: ${error}`,
              );
            }
  });

  it('MaxPool matches cpu exactly on 40 shapes', async function () {
    const rng = new Rng(26);
    for (const size of [1, 2, 3])
      for (const stride of [1, 2])
        for (const pad of ['same', 'valid', 1] as const)
          for (const batch of [1, 3]) {
            if (pad === 1 && size === 1) continue;
            const x = normal(rng, [batch, 9, 11, 5]);
            const attrs = { filterSize: size, strides: stride, pad } as unknown as tf.NamedAttrMap;
            const error = await compareWithCpu(tf.MaxPool, { x }, attrs);
            assert.ok(error <= EXACT, `size=${size} stride=${stride} pad=${pad} batch=${batch}: ${error}`);
          }
  });

  for (const [kernelName, attrs] of [
    [tf.Relu, {}],
    [tf.Step, { alpha: 0 }],
    [tf.Step, { alpha: 0.25 }],
    [tf.Square, {}],
  ] as const)
    it(`${kernelName} ${JSON.stringify(attrs)} matches cpu exactly, zeros and NaN included`, async function () {
      const x = normal(new Rng(27), [3, 5, 7, 6]);
      x.values[0] = 0;
      x.values[1] = NaN;
      const expected = await runKernel('cpu', kernelName, { x }, attrs);
      const actual = await runKernel('wasm', kernelName, { x }, attrs);
      assert.ok(Number.isNaN(expected.values[1]) && Number.isNaN(actual.values[1]), 'NaN stays NaN');
      expected.values[1] = actual.values[1] = 0;
      assert.equal(relativeError(actual.values, expected.values), EXACT);
    });

  it(`MaxPoolGrad matches cpu within ${ROUNDING_BOUND} on 48 shapes, ties included`, async function () {
    const rng = new Rng(21);
    for (const size of [1, 2, 3])
      for (const stride of [1, 2])
        for (const pad of ['same', 'valid', 1] as const)
          for (const [batch, channels] of [
            [1, 3],
            [3, 5],
          ] as const) {
            if (pad === 1 && size === 1) continue;
            const xShape: [number, number, number, number] = [batch, 9, 11, channels];
            // Rounded ReLU outputs: windows with several equal maxima, as after a ReLU in the nets.
            const x = normal(rng, xShape);
            x.values = x.values.map((v) => Math.max(0, Math.round(v * 2)));
            const outShape = tf.backend_util.computePool2DInfo(xShape, size, stride, 1, pad).outShape;
            const dy = normal(rng, outShape);
            const attrs = { filterSize: size, strides: stride, pad } as unknown as tf.NamedAttrMap;
            const error = await compareWithCpu(tf.MaxPoolGrad, { dy, input: x, output: dy }, attrs);
            assert.ok(
              error <= ROUNDING_BOUND,
              `size=${size} stride=${stride} pad=${pad} batch=${batch}: ${error}`,
            );
          }
  });

  // Every broadcast the pack takes (equal shapes, trailing shapes, scalars, either side) and some it hands
  // back to wasm (a middle-axis broadcast, both sides broadcast, empty tensors).
  const PAIRS: [number[], number[]][] = [
    [
      [3, 5, 7, 6],
      [3, 5, 7, 6],
    ],
    [[3, 5, 7, 6], [6]],
    [[6], [3, 5, 7, 6]],
    [
      [1, 1, 1, 6],
      [3, 5, 7, 6],
    ],
    [
      [3, 5, 7, 6],
      [7, 6],
    ],
    [[3, 5, 7, 6], []],
    [[], [3, 5, 7, 6]],
    [
      [3, 5, 7, 6],
      [1, 1, 1, 1],
    ],
    [[1001], [1001]],
    [
      [0, 6],
      [0, 6],
    ],
    [
      [3, 5, 7, 6],
      [3, 1, 1, 6],
    ],
    [
      [3, 1, 6],
      [1, 5, 6],
    ],
  ];
  for (const kernelName of [tf.Add, tf.Sub, tf.Multiply, tf.RealDiv])
    it(`${kernelName} matches cpu exactly on ${PAIRS.length} broadcasts`, async function () {
      const rng = new Rng(22);
      for (const [aShape, bShape] of PAIRS) {
        const a = normal(rng, aShape);
        const b = normal(rng, bShape);
        const error = await compareWithCpu(kernelName, { a, b });
        assert.ok(error <= EXACT, `${JSON.stringify(aShape)} ${JSON.stringify(bShape)}: ${error}`);
      }
    });

  // Leading-axis repeats as broadcastTo asks for, and a trailing-axis one the pack hands back to wasm.
  const TILES: [number[], number[]][] = [
    [
      [1, 1, 1, 6],
      [3, 5, 7, 1],
    ],
    [[6], [35]],
    [
      [1, 7, 6],
      [4, 1, 1],
    ],
    [
      [1, 1],
      [5, 9],
    ],
    [
      [2, 3],
      [2, 2],
    ],
  ];
  it(`Tile matches cpu exactly on ${TILES.length} shapes`, async function () {
    const rng = new Rng(25);
    for (const [shape, reps] of TILES) {
      const error = await compareWithCpu(tf.Tile, { x: normal(rng, shape) }, { reps });
      assert.ok(error <= EXACT, `${JSON.stringify(shape)} reps=${JSON.stringify(reps)}: ${error}`);
    }
  });

  // Leading axes as in batch statistics, all axes, an empty axis, and a non-leading set handed back to wasm.
  const REDUCTIONS: [number[], number[]][] = [
    [
      [48, 9, 11, 6],
      [0, 1, 2],
    ],
    [[3, 5, 7, 6], [0]],
    [
      [3, 5, 7, 6],
      [0, 1],
    ],
    [
      [3, 5, 7, 6],
      [0, 1, 2, 3],
    ],
    [
      [1, 5, 7, 6],
      [0, 1, 2],
    ],
    [[7, 1], [0]],
    [[0, 5, 6], [0]],
    [
      [3, 5, 7, 6],
      [1, 2],
    ],
  ];
  for (const kernelName of [tf.Sum, tf.Mean])
    it(`${kernelName} matches cpu within ${ROUNDING_BOUND} over ${REDUCTIONS.length * 2} axis sets`, async function () {
      const rng = new Rng(23);
      for (const [shape, axis] of REDUCTIONS)
        for (const keepDims of [false, true]) {
          const x = normal(rng, shape);
          const error = await compareWithCpu(kernelName, { x }, { axis, keepDims });
          assert.ok(
            error <= ROUNDING_BOUND,
            `${JSON.stringify(shape)} axis=${axis} keepDims=${keepDims}: ${error}`,
          );
        }
    });

  it('gradients of batch normalisation and max pooling match cpu', async function () {
    const rng = new Rng(24);
    const x = normal(rng, [4, 10, 10, 8]);
    const gamma = normal(rng, [8]);
    const f = (xs: tf.Tensor, g: tf.Tensor) => {
      const { mean, variance } = tf.moments(xs, [0, 1, 2]);
      const y = tf.mul(tf.div(tf.sub(xs, mean), tf.sqrt(tf.add(variance, 1e-3))), g);
      return tf.sum(tf.square(tf.maxPool(tf.relu(y) as tf.Tensor4D, 3, 2, 'same')));
    };
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() =>
        tf
          .grads(f)([tf.tensor(x.values, x.shape), tf.tensor(gamma.values)])
          .map((g) => g.dataSync() as Float32Array),
      );
    };
    const expected = await run('cpu');
    const actual = await run('wasm');
    expected.forEach((e, i) => assert.ok(relativeError(actual[i]!, e) <= 1e-5, `gradient ${i}`));
  });

  describe('batch normalisation (FusedBatchNorm, its gradient, ScaleShift) against the composition on cpu', function () {
    /** Value and the gradients of x, gamma and beta under a loss that weighs every output differently. */
    const run = async (
      backend: string,
      x: KernelInput,
      options: { gamma: boolean; relu: boolean; training: boolean },
    ) => {
      await tf.setBackend(backend);
      const c = x.shape[x.shape.length - 1]!;
      const rng = new Rng(31);
      const gamma = tf.tensor(normal(rng, [c]).values);
      const beta = tf.tensor(normal(rng, [c]).values);
      const weights = tf.tensor(normal(rng, x.shape).values, x.shape);
      const moving = {
        mean: tf.tensor(normal(rng, [c]).values),
        variance: tf.exp(tf.tensor(normal(rng, [c]).values)),
      };
      const f = (xs: tf.Tensor, b: tf.Tensor, g?: tf.Tensor) => {
        const y = options.training
          ? batchNormTraining(xs, g, b, 1e-3, options.relu).y
          : batchNormInference(xs, { gamma: g, beta: b, ...moving }, 1e-3, options.relu);
        return tf.sum(tf.mul(y, weights));
      };
      const out = tf.tidy(() => {
        const xs = tf.tensor(x.values, x.shape);
        const { value, grads } = options.gamma
          ? tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, g: tf.Tensor) => f(a, b, g))([xs, beta, gamma])
          : tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => f(a, b))([xs, beta]);
        const stats = options.training ? batchNormTraining(xs, gamma, beta, 1e-3, false) : undefined;
        return [value, ...grads, ...(stats ? [stats.mean, stats.variance] : [])].map(
          (t) => t.dataSync() as Float32Array,
        );
      });
      tf.dispose([gamma, beta, weights, moving.mean, moving.variance]);
      return out;
    };

    it('uses the fused kernels on wasm here', function () {
      for (const name of [FusedBatchNorm, FusedBatchNormGrad, ScaleShift])
        assert.ok(tf.getKernel(name, 'wasm'), name);
    });

    for (const training of [true, false])
      for (const relu of [false, true])
        for (const gamma of [true, false])
          it(`${training ? 'training' : 'inference'}${relu ? ' with ReLU' : ''}${gamma ? '' : ' without gamma'}: value and gradients within ${CONV_BOUND}`, async function () {
            const rng = new Rng(30);
            // NHWC activations, a [batch, features] one, and one whose mean dwarfs its spread.
            const shifted = normal(rng, [64, 5]);
            shifted.values = shifted.values.map((v) => 300 + v * 0.01);
            for (const x of [normal(rng, [4, 9, 11, 6]), normal(rng, [7, 3]), shifted]) {
              const expected = await run('cpu', x, { gamma, relu, training });
              const actual = await run('wasm', x, { gamma, relu, training });
              expected.forEach((e, i) => {
                const error = relativeError(actual[i]!, e);
                assert.ok(error <= CONV_BOUND, `x [${x.shape}] output ${i}: ${error}`);
              });
            }
          });
  });
});
