/**
 * The wasm training kernels against the pure-JS cpu backend: each kernel on a grid of shapes, then whole
 * training steps of a small conv net with batch normalisation.
 */
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-wasm';
import { tinyBackbone } from '../plugins/backbone/tiny.js';
import * as tf from '../src/tf.js';
import { nativePackUnavailableReason, setNativeThreshold } from '../src/backend/wasm-native.js';
import { kernelPath, registerWasmTrainingKernels } from '../src/backend/wasm-training-kernels.js';
import { runStages } from '../src/nn/index.js';
import { Rng } from '../src/util/random.js';
import { compareWithCpu, normal, relativeError, type KernelInput } from './helpers/kernels.js';

/** max|wasm − cpu| / max(1, max|cpu|): float32 sums of a few hundred products stay well inside. */
const KERNEL_BOUND = 1e-5;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const EXPLICIT: Pad = [
  [0, 0],
  [1, 2],
  [2, 0],
  [0, 0],
];
const GRID: { k: number; stride: number; pad: Pad; batch: number }[] = [];
for (const k of [1, 3, 5, 7])
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid', EXPLICIT] as Pad[])
      for (const batch of [1, 2]) GRID.push({ k, stride, pad, batch });
// Odd, unequal spatial sizes so that strides and pads do not divide evenly.
const H = 9;
const W = 11;

function convOutShape(
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  stride: number,
  pad: Pad,
  depthwise: boolean,
): number[] {
  return tf.backend_util.computeConv2DInfo(inShape, filterShape, stride, 1, pad, undefined, depthwise)
    .outShape;
}

describe('wasm training kernels', function () {
  let registered: string[] = [];
  let threshold: number;

  before(async function () {
    registered = registerWasmTrainingKernels();
    // The grid's convolutions are small; send them all to the native pack (when built) so it is tested.
    threshold = setNativeThreshold(0);
    await tf.setBackend('wasm');
  });

  after(async function () {
    setNativeThreshold(threshold);
    await tf.setBackend('cpu');
  });

  it('registers the missing gradient kernels idempotently, and the native convolutions when built', function () {
    for (const name of [
      tf.Conv2DBackpropFilter,
      tf.Conv2DBackpropInput,
      tf.DepthwiseConv2dNativeBackpropFilter,
      tf.DepthwiseConv2dNativeBackpropInput,
      tf.UnsortedSegmentSum,
      tf.Sum,
      tf.Mean,
      tf.MaxPoolGrad,
      tf.GatherV2,
      tf.BatchMatMul,
      tf.Add,
      tf.Sub,
      tf.Multiply,
      tf.RealDiv,
      tf.Tile,
      tf.Identity,
      tf.Cast,
    ])
      assert.ok(registered.includes(name), name);
    assert.equal(registered.includes(tf.Conv2D), nativePackUnavailableReason() === undefined);
    assert.deepEqual(registerWasmTrainingKernels(), registered);
  });

  const native = nativePackUnavailableReason() === undefined;
  const convCases: { kernelName: string; implementation: string; kernelFunc?: tf.KernelFunc }[] = [
    tf.Conv2D,
    tf.Conv2DBackpropFilter,
    tf.Conv2DBackpropInput,
  ].map((kernelName) => ({ kernelName, implementation: native ? 'native pack' : 'wasm' }));
  // Where the native pack is built it displaces the XNNPACK gradients; they remain the fallback elsewhere.
  if (native)
    for (const kernelName of [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput])
      convCases.push({
        kernelName,
        implementation: 'XNNPACK fallback',
        kernelFunc: kernelPath(kernelName, 'wasm'),
      });

  for (const { kernelName, implementation, kernelFunc } of convCases) {
    it(`${kernelName} (${implementation}) matches cpu within ${KERNEL_BOUND} on ${GRID.length} shapes`, async function () {
      const rng = new Rng(7);
      for (const { k, stride, pad, batch } of GRID) {
        const xShape: [number, number, number, number] = [batch, H, W, 3];
        const filterShape: [number, number, number, number] = [k, k, 3, 4];
        const x = normal(rng, xShape);
        const filter = normal(rng, filterShape);
        const dy = normal(rng, convOutShape(xShape, filterShape, stride, pad, false));
        const attrs = {
          strides: stride,
          pad,
          dataFormat: 'NHWC',
          dilations: 1,
        } as unknown as tf.NamedAttrMap;
        const [inputs, extra]: [Record<string, KernelInput>, tf.NamedAttrMap] =
          kernelName === tf.Conv2D
            ? [{ x, filter }, {}]
            : kernelName === tf.Conv2DBackpropFilter
              ? [{ x, dy }, { filterShape }]
              : [{ dy, filter }, { inputShape: xShape }];
        const error = await compareWithCpu(kernelName, inputs, { ...attrs, ...extra }, kernelFunc);
        assert.ok(
          error <= KERNEL_BOUND,
          `k=${k} stride=${stride} pad=${JSON.stringify(pad)} batch=${batch}: ${error}`,
        );
      }
    });
  }

  for (const kernelName of [tf.DepthwiseConv2dNativeBackpropFilter, tf.DepthwiseConv2dNativeBackpropInput]) {
    it(`${kernelName} matches cpu within ${KERNEL_BOUND} on ${GRID.length * 2} shapes`, async function () {
      const rng = new Rng(8);
      for (const { k, stride, pad, batch } of GRID) {
        for (const multiplier of [1, 2]) {
          const xShape: [number, number, number, number] = [batch, H, W, 3];
          const filterShape: [number, number, number, number] = [k, k, 3, multiplier];
          const dy = normal(rng, convOutShape(xShape, filterShape, stride, pad, true));
          const attrs = { strides: stride, dilations: 1, pad } as unknown as tf.NamedAttrMap;
          const error =
            kernelName === tf.DepthwiseConv2dNativeBackpropFilter
              ? await compareWithCpu(kernelName, { x: normal(rng, xShape), dy }, { ...attrs, filterShape })
              : await compareWithCpu(
                  kernelName,
                  { dy, filter: normal(rng, filterShape) },
                  { ...attrs, inputShape: xShape },
                );
          const where = `k=${k} stride=${stride} pad=${JSON.stringify(pad)} batch=${batch} multiplier=${multiplier}`;
          assert.ok(error <= KERNEL_BOUND, `${where}: ${error}`);
        }
      }
    });
  }

  it('Tile matches cpu exactly along leading axes and elsewhere (the shipped path)', async function () {
    const rng = new Rng(12);
    // Outputs under the native pack's element threshold, so this file's wasm kernel runs even where it is built.
    for (const [shape, reps] of [
      [
        [1, 1, 3, 4],
        [5, 6, 1, 1],
      ],
      [
        [1, 4],
        [7, 1],
      ],
      [
        [2, 3, 4],
        [3, 1, 1],
      ],
      [
        [2, 3],
        [1, 2],
      ],
      [
        [1, 1],
        [2, 3],
      ],
    ] as const) {
      const error = await compareWithCpu(tf.Tile, { x: normal(rng, [...shape]) }, { reps: [...reps] });
      assert.equal(error, 0, `shape ${shape} reps ${reps}`);
    }
  });

  for (const kernelName of [tf.Sum, tf.Mean]) {
    it(`${kernelName} matches cpu within ${KERNEL_BOUND} over leading and other axes`, async function () {
      const rng = new Rng(10);
      const x = normal(rng, [5, 7, 3, 4]);
      for (const axis of [[0], [0, 1], [1, 0, 2], [0, 1, 2, 3], [3], [1, 2], [0, 2]])
        for (const keepDims of [false, true]) {
          const error = await compareWithCpu(kernelName, { x }, { axis, keepDims });
          assert.ok(error <= KERNEL_BOUND, `axis ${axis} keepDims ${keepDims}: ${error}`);
        }
      // Batch statistics of a quickstart-sized activation: long float32 sums.
      const large = normal(rng, [120, 16, 16, 8]);
      for (const axis of [[0, 1, 2], [0]]) {
        const error = await compareWithCpu(kernelName, { x: large }, { axis, keepDims: false });
        assert.ok(error <= KERNEL_BOUND, `[120,16,16,8] axis ${axis}: ${error}`);
      }
      assert.equal(
        await compareWithCpu(kernelName, { x: normal(rng, [0, 3]) }, { axis: 0, keepDims: false }),
        0,
      );
    });
  }

  it(`MaxPoolGrad matches cpu within ${KERNEL_BOUND} on 36 shapes, ties included`, async function () {
    const rng = new Rng(11);
    for (const size of [1, 2, 3])
      for (const stride of [1, 2])
        for (const pad of ['same', 'valid', 1] as const)
          for (const batch of [1, 2]) {
            if (pad === 1 && size === 1) continue;
            const xShape: [number, number, number, number] = [batch, H, W, 3];
            // Rounded ReLU outputs: windows with several equal maxima, as after a ReLU in the nets.
            const x = normal(rng, xShape);
            x.values = x.values.map((v) => Math.max(0, Math.round(v * 2)));
            const outShape = tf.backend_util.computePool2DInfo(xShape, size, stride, 1, pad).outShape;
            const dy = normal(rng, outShape);
            const attrs = { filterSize: size, strides: stride, pad } as unknown as tf.NamedAttrMap;
            const error = await compareWithCpu(tf.MaxPoolGrad, { dy, input: x, output: dy }, attrs);
            assert.ok(
              error <= KERNEL_BOUND,
              `size=${size} stride=${stride} pad=${pad} batch=${batch}: ${error}`,
            );
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
    const cases: [KernelInput, number, number][] = [
      [indices([2, 0, 2, 1]), 0, 0],
      [indices([3, 3, 0]), 1, 0],
      [indices([4, 0, 1, 1, 2, 3], [2, 3]), 2, 0],
      [indices([1]), 3, 0],
      [indices([1, 0, 3, 2, 0, 0], [3, 2]), 1, 1],
    ];
    for (const [idx, axis, batchDims] of cases)
      for (const input of [x, ints]) {
        const error = await compareWithCpu(tf.GatherV2, { x: input, indices: idx }, { axis, batchDims });
        assert.equal(error, 0, `${input.dtype} axis ${axis} batchDims ${batchDims}`);
      }
    await tf.setBackend('wasm');
    assert.throws(() => tf.gather(tf.zeros([3, 2]), [3]), /index value 3 is not in \[0, 2\]/);
  });

  it('SplitV and Concat match cpu exactly over axes, sizes and dtypes', async function () {
    const rng = new Rng(14);
    const x = normal(rng, [4, 3, 5, 2]);
    const inputs = [x.values, Int32Array.from(x.values, (v) => Math.round(v * 10))];
    const tensor = (info: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(info);
    /** Every split piece, then the pieces joined again out of order: tfjs's ops on cpu, the project's kernels on wasm. */
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const split = (t: tf.Tensor, sizes: number[], axis: number) =>
        backend === 'cpu'
          ? tf.split(t, sizes, axis)
          : (
              kernelPath(
                tf.SplitV,
                'wasm',
              )({
                inputs: { x: t },
                attrs: { numOrSizeSplits: sizes, axis },
                backend: tf.backend(),
              }) as tf.TensorInfo[]
            ).map(tensor);
      const concat = (ts: tf.Tensor[], axis: number) =>
        backend === 'cpu'
          ? tf.concat(ts, axis)
          : tensor(
              kernelPath(
                tf.Concat,
                'wasm',
              )({
                inputs: ts as unknown as tf.NamedTensorInfoMap,
                attrs: { axis },
                backend: tf.backend(),
              }) as tf.TensorInfo,
            );
      const out: number[][] = [];
      for (const values of inputs)
        for (let axis = 0; axis < 4; axis++)
          for (const sizes of [[1, -1], [x.shape[axis]!], [0, x.shape[axis]! - 1, 1]]) {
            const t = tf.tensor(values, x.shape, values instanceof Int32Array ? 'int32' : 'float32');
            const pieces = split(t, sizes, axis);
            const joined = concat([...pieces].reverse(), axis);
            for (const p of [...pieces, joined])
              out.push([...p.shape, p.dtype === 'int32' ? 1 : 0, ...(await p.data())]);
            tf.dispose([t, ...pieces, joined]);
          }
      return out;
    };
    const expected = await run('cpu');
    assert.deepEqual(await run('wasm'), expected);
    assert.ok(registered.includes(tf.SplitV) && registered.includes(tf.Concat), registered.join(', '));
  });

  for (const kernelName of [tf.Add, tf.Sub, tf.Multiply, tf.RealDiv]) {
    it(`${kernelName} matches cpu exactly with either operand broadcast`, async function () {
      const rng = new Rng(13);
      const full = [2, 30, 40, 4];
      for (const small of [
        [4],
        [1, 1, 1, 4],
        [],
        [40, 4],
        [1, 30, 40, 4],
        [2, 1, 1, 4],
        [1],
        full,
        [30, 1, 4],
      ])
        for (const swap of [false, true]) {
          const shapes = swap ? [small, full] : [full, small];
          const [a, b] = shapes.map((shape) => normal(rng, shape));
          const error = await compareWithCpu(kernelName, { a: a!, b: b! }, {});
          assert.equal(error, 0, `${JSON.stringify(shapes)}`);
        }
    });
  }

  it('Identity and same-dtype Cast share data that outlives the input; other Casts convert', async function () {
    await tf.setBackend('wasm');
    const x = tf.tensor([1.5, -2.25, 3], [3]);
    const copies = [tf.clone(x), tf.cast(x, 'float32'), tf.cast(x, 'int32')];
    x.dispose();
    assert.deepEqual(
      copies.map((t) => [t.dtype, Array.from(t.dataSync())]),
      [
        ['float32', [1.5, -2.25, 3]],
        ['float32', [1.5, -2.25, 3]],
        ['int32', [1, -2, 3]],
      ],
    );
    tf.dispose(copies);
  });

  it(`BatchMatMul matches cpu within ${KERNEL_BOUND} with either operand transposed`, async function () {
    const rng = new Rng(14);
    for (const batch of [[], [1], [2]])
      for (const transposeA of [false, true])
        for (const transposeB of [false, true]) {
          const a = normal(rng, [...batch, ...(transposeA ? [40, 6] : [6, 40])]);
          const b = normal(rng, [...batch, ...(transposeB ? [5, 40] : [40, 5])]);
          const error = await compareWithCpu(tf.BatchMatMul, { a, b }, { transposeA, transposeB });
          assert.ok(
            error <= KERNEL_BOUND,
            `batch ${batch} transposeA ${transposeA} transposeB ${transposeB}: ${error}`,
          );
        }
  });

  it(`UnsortedSegmentSum matches cpu within ${KERNEL_BOUND}, dropping out-of-range ids`, async function () {
    const rng = new Rng(9);
    // 1-D ids only: that is what gather's gradient passes, and the cpu reference mishandles higher ranks.
    const segmentIds: KernelInput = {
      shape: [6],
      values: Int32Array.from([2, 0, 2, -1, 5, 0]),
      dtype: 'int32',
    };
    for (const shape of [[6], [6, 5], [6, 3, 2]]) {
      const error = await compareWithCpu(
        tf.UnsortedSegmentSum,
        { x: normal(rng, shape), segmentIds },
        { numSegments: 4 },
      );
      assert.ok(error <= KERNEL_BOUND, `x of shape ${shape}: ${error}`);
    }
  });

  describe('a training step of a small conv net with batch normalisation', function () {
    const STEPS = 3;
    /** Loss, gradients and updated weights are compared relative to max(1, max|cpu|) of each tensor. */
    const STEP_BOUND = 1e-4;

    interface Net {
      variables: Record<string, tf.Variable>;
      loss(): tf.Scalar;
      dispose(): void;
    }

    function buildNet(seed: number): Net {
      const rng = new Rng(seed);
      const he = (shape: number[], fanIn: number) =>
        tf.tidy(() => tf.variable(tf.mul(tf.tensor(normal(rng, shape).values, shape), Math.sqrt(2 / fanIn))));
      const variables: Record<string, tf.Variable> = {
        conv1: he([3, 3, 3, 8], 27),
        gamma1: tf.variable(tf.ones([8])),
        beta1: tf.variable(tf.zeros([8])),
        conv2: he([3, 3, 8, 12], 72),
        beta2: tf.variable(tf.zeros([12])),
        depthwise: he([3, 3, 12, 1], 9),
        conv3: he([1, 1, 12, 16], 12),
        dense: he([16, 6], 16),
        bias: tf.variable(tf.zeros([6])),
        masks: tf.variable(tf.ones([2, 6])),
      };
      const v = variables as Record<string, tf.Tensor4D>;
      const images = tf.tensor4d(normal(rng, [6, 13, 11, 3]).values, [6, 13, 11, 3]);
      const tasks = tf.tensor1d([0, 1, 1, 0, 1, 0], 'int32');
      const norm = (h: tf.Tensor4D, gamma?: tf.Tensor) => {
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        const y = tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-3)));
        return gamma ? tf.mul(y, gamma) : y;
      };
      const loss = () =>
        tf.tidy(() => {
          let h: tf.Tensor4D = tf.conv2d(images, v.conv1!, 1, 'same');
          h = tf.relu(tf.add<tf.Tensor4D>(norm(h, v.gamma1), v.beta1!));
          h = tf.maxPool(h, 2, 2, 'valid');
          h = tf.conv2d(h, v.conv2!, 2, EXPLICIT as Exclude<Pad, 'same' | 'valid'>);
          h = tf.relu(tf.add<tf.Tensor4D>(norm(h), v.beta2!));
          h = tf.avgPool(h, 2, 1, 'same');
          h = tf.depthwiseConv2d(h, v.depthwise!, 1, 'same');
          h = tf.conv2d(h, v.conv3!, 1, 'valid');
          let e: tf.Tensor2D = tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, v.dense!), v.bias!);
          e = tf.mul(e, tf.relu(tf.gather(v.masks!, tasks)));
          e = tf.div(e, tf.norm(e, 2, 1, true));
          const [a, p, n] = [
            [0, 1],
            [3, 2],
            [1, 0],
          ].map((rows) => tf.gather(e, rows));
          const gap = tf.sub(tf.sum(tf.square(tf.sub(a!, p!)), 1), tf.sum(tf.square(tf.sub(a!, n!)), 1));
          return tf.mean(tf.relu(tf.add(gap, 0.5)));
        }) as tf.Scalar;
      const dispose = () => tf.dispose([images, tasks, ...Object.values(variables)]);
      return { variables, loss, dispose };
    }

    /** Per step: loss, each gradient, each weight after the Adam update, all flattened with labels. */
    async function train(backend: string): Promise<{ label: string; values: Float32Array }[]> {
      await tf.setBackend(backend);
      const net = buildNet(21);
      const optimizer = tf.train.adam(0.01);
      const record: { label: string; values: Float32Array }[] = [];
      // One step first so that the optimizer's slots exist before the tensor count is taken.
      for (let step = 0; step < STEPS; step++) {
        const before = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(net.loss, Object.values(net.variables));
        record.push({ label: `step ${step} loss`, values: value.dataSync() as Float32Array });
        for (const [name, w] of Object.entries(net.variables))
          record.push({ label: `step ${step} d${name}`, values: grads[w.name]!.dataSync() as Float32Array });
        optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        tf.dispose([value, ...Object.values(grads)]);
        for (const [name, w] of Object.entries(net.variables))
          record.push({ label: `step ${step} ${name}`, values: w.dataSync() as Float32Array });
        if (step > 0)
          assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked in step ${step}`);
      }
      optimizer.dispose();
      net.dispose();
      return record;
    }

    it(`of the tiny backbone (the project's BatchNorm, max pools, dense head) matches cpu within ${STEP_BOUND}`, async function () {
      // Large enough that the per-channel broadcasts take the expanded path.
      const images = normal(new Rng(22), [12, 16, 16, 3]);
      const step = async (backend: string) => {
        await tf.setBackend(backend);
        const net = tinyBackbone({ inputSize: 16, channels: [8, 16, 32], embeddingDim: 8 }).instantiate(
          't/',
          3,
        );
        const x = tf.tensor(images.values, images.shape);
        const trainable = net.variables().filter((v) => v.trainable);
        const { value, grads } = tf.variableGrads(
          () => tf.tidy(() => tf.sum(tf.square(runStages(net, x, { training: true })))),
          trainable.map((v) => v.variable),
        );
        const record = [{ label: 'loss', values: value.dataSync() as Float32Array }];
        for (const { name, variable } of trainable)
          record.push({ label: `d${name}`, values: grads[variable.name]!.dataSync() as Float32Array });
        tf.dispose([x, value, ...Object.values(grads)]);
        net.dispose();
        return record;
      };
      const expected = await step('cpu');
      const actual = await step('wasm');
      assert.equal(actual.length, expected.length);
      expected.forEach(({ label, values }, i) => {
        const error = relativeError(actual[i]!.values, values);
        assert.ok(error <= STEP_BOUND, `${label}: ${error}`);
      });
    });

    it(`matches the cpu backend over ${STEPS} Adam steps within ${STEP_BOUND}`, async function () {
      const expected = await train('cpu');
      const actual = await train('wasm');
      assert.equal(actual.length, expected.length);
      expected.forEach(({ label, values }, i) => {
        const error = relativeError(actual[i]!.values, values);
        assert.ok(error <= STEP_BOUND, `${label}: ${error}`);
      });
    });
  });
});
