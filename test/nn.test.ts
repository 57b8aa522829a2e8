import { strict as assert } from 'node:assert';
import { tinyBackbone } from '../plugins/backbone/tiny.js';
import type { BatchNormLayer } from '../src/kinds/index.js';
import {
  BatchNorm,
  VariableStore,
  batchNormVariables,
  batchNormalize,
  perTaskModules,
  taskBatchNormalize,
  galleryPassesAfter,
  poolToGrid,
  runStages,
  stageVariables,
  conv2d,
  conv2dFilterGradient,
  initializers,
  outputSize,
  partitionByTask,
  runGroupedByTask,
  selectPerSample,
  stopGradient,
  type Padding,
} from '../src/nn/index.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

function seeded(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    shape,
  );
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('nn', () => {
  describe('conv2d', () => {
    const cases: [number, number, Padding, number][] = [
      // kernel, stride, padding, input side
      [3, 1, 'valid', 7],
      [3, 1, 'same', 6],
      [3, 2, 'same', 7],
      [3, 2, 1, 8],
      [7, 2, 3, 11],
      [1, 2, 0, 6],
    ];
    for (const [k, stride, padding, side] of cases) {
      it(`matches tfjs's own gradients: ${k}×${k}, stride ${stride}, padding ${padding}, ${side}px`, () => {
        tf.tidy(() => {
          const x = seeded([2, side, side, 3], 1) as tf.Tensor4D;
          const w = seeded([k, k, 3, 4], 2) as tf.Tensor4D;
          const y = tf.conv2d(x, w, stride, padding);
          const dy = seeded(y.shape, 3);
          const loss = (f: typeof conv2d) => (a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, stride, padding), dy));
          const ours = tf.grads(loss(conv2d))([x, w]);
          const reference = tf.grads(loss(tf.conv2d))([x, w]);
          assert.ok(maxDiff(conv2d(x, w, stride, padding), y) === 0, 'forward is tfjs conv2d');
          assert.ok(maxDiff(ours[0]!, reference[0]!) < 1e-4, 'input gradient');
          assert.ok(
            maxDiff(ours[1]!, reference[1]!) < 1e-4,
            `filter gradient ${maxDiff(ours[1]!, reference[1]!)}`,
          );
          const direct = conv2dFilterGradient(x, dy as tf.Tensor4D, [k, k, 3, 4], stride, padding);
          assert.ok(maxDiff(direct, reference[1]!) < 1e-4);
          assert.equal(y.shape[1], outputSize(side, k, stride, padding), 'outputSize agrees with tfjs');
        });
      });
    }
  });

  describe('BatchNorm', () => {
    it('normalises by batch statistics and moves the averages in training, uses them in inference', () => {
      const store = VariableStore.root('bn/', 1);
      const bn = new BatchNorm(store, 2, { decay: 0.9, epsilon: 1e-3, scale: true });
      // Channel 0 holds 1..4, channel 1 holds 10, 20, 30, 40.
      const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [2, 2, 1, 2]);
      const y = bn.apply(x, { training: true });
      const mean = [2.5, 25];
      const variance = [1.25, 125];
      const expected = [1, 10, 2, 20, 3, 30, 4, 40].map(
        (v, i) => (v - mean[i % 2]!) / Math.sqrt(variance[i % 2]! + 1e-3),
      );
      assert.ok(maxDiff(y, tf.tensor4d(expected, [2, 2, 1, 2])) < 1e-5);
      assert.ok(maxDiff(bn.movingMean, tf.tensor1d(mean.map((m) => 0.1 * m))) < 1e-5);
      assert.ok(maxDiff(bn.movingVariance, tf.tensor1d(variance.map((v) => 0.9 + 0.1 * v))) < 1e-4);

      const movingMean = bn.movingMean.dataSync().slice();
      const z = bn.apply(x, { training: false });
      assert.deepEqual(bn.movingMean.dataSync(), movingMean, 'inference leaves the averages alone');
      const mm = bn.movingMean.dataSync();
      const mv = bn.movingVariance.dataSync();
      const inferred = [1, 10, 2, 20, 3, 30, 4, 40].map(
        (v, i) => (v - mm[i % 2]!) / Math.sqrt(mv[i % 2]! + 1e-3),
      );
      assert.ok(maxDiff(z, tf.tensor4d(inferred, [2, 2, 1, 2])) < 1e-5);
      assert.deepEqual(
        store.variables().map((v) => [v.name, v.trainable]),
        [
          ['bn/gamma', true],
          ['bn/beta', true],
          ['bn/moving_mean', false],
          ['bn/moving_variance', false],
        ],
      );
      tf.dispose([x, y, z]);
      store.dispose();
    });

    it('matches the textbook formula, gradients through the batch statistics included', () => {
      const rng = new Rng(3);
      const random = (shape: number[], offset = 0) =>
        tf.tensor(
          Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => offset + rng.normal()),
          shape,
        );
      for (const scale of [true, false]) {
        const store = VariableStore.root('bn/', 2);
        const bn = new BatchNorm(store, 3, { decay: 0.9, epsilon: 1e-3, scale });
        // A mean far from zero, as after a conv without bias; moved gamma and beta so their gradients matter.
        const x = tf.variable(random([4, 5, 6, 3], 5));
        bn.gamma?.assign(random([3], 1));
        bn.beta.assign(random([3]));
        const weights = random([4, 5, 6, 3]);
        const textbook = () => {
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-3)));
          return tf.add(bn.gamma ? tf.mul(y, bn.gamma) : y, bn.beta);
        };
        const trainables = [x, bn.beta, ...(bn.gamma ? [bn.gamma] : [])];
        const gradients = (f: () => tf.Tensor) =>
          tf.variableGrads(() => tf.sum(tf.mul(f(), weights)), trainables);
        const ours = gradients(() => bn.apply(x, { training: true }));
        const reference = gradients(textbook);
        assert.ok(maxDiff(ours.value, reference.value) < 1e-4, 'forward');
        for (const v of trainables) {
          assert.ok(maxDiff(ours.grads[v.name]!, reference.grads[v.name]!) < 1e-4, `d${v.name}`);
        }
        tf.dispose([x, weights, ours.value, reference.value]);
        tf.dispose([...Object.values(ours.grads), ...Object.values(reference.grads)]);
        store.dispose();
      }
    });
  });

  describe('VariableStore', () => {
    it('scopes names, rejects duplicates, derives initial values from seed and name, frees on dispose', () => {
      const before = tf.memory().numTensors;
      const a = VariableStore.root('net/', 4);
      const w = a.scope('block1').add('kernel', [3, 2], initializers.truncatedNormal(0.1));
      a.add('bias', [2], initializers.constant(0));
      assert.deepEqual(
        a.variables().map((v) => v.name),
        ['net/block1/kernel', 'net/bias'],
      );
      assert.throws(() => a.scope('block1').add('kernel', [1], initializers.constant(0)), /exists/);
      const b = VariableStore.root('net/', 4);
      b.add('bias', [2], initializers.constant(0));
      const w2 = b.scope('block1').add('kernel', [3, 2], initializers.truncatedNormal(0.1));
      assert.deepEqual(w2.dataSync(), w.dataSync(), 'creation order does not matter');
      const other = VariableStore.root('net2/', 4).add(
        'block1/kernel',
        [3, 2],
        initializers.truncatedNormal(0.1),
      );
      assert.notDeepEqual(other.dataSync(), w.dataSync(), 'another scope starts elsewhere');
      assert.ok(
        [...w.dataSync()].every((v) => Math.abs(v) <= 0.2),
        'truncated at two standard deviations',
      );
      a.dispose();
      b.dispose();
      other.dispose();
      assert.equal(tf.memory().numTensors, before);
    });

    it('initialises identities and Kaiming-normal kernels', () => {
      assert.deepEqual([...initializers.identity()([2, 2], new Rng(1))], [1, 0, 0, 1]);
      const values = initializers.heNormal('fanOut')([3, 3, 16, 64], new Rng(1));
      const variance = values.reduce((s, v) => s + v * v, 0) / values.length;
      assert.ok(Math.abs(variance - 2 / (3 * 3 * 64)) < 0.1 * (2 / (3 * 3 * 64)), `variance ${variance}`);
    });
  });

  describe('routing', () => {
    it('stopGradient keeps the values and blocks the gradient, integer indices included', () => {
      tf.tidy(() => {
        const x = tf.tensor1d([1, -2, 3]);
        // d/dx Σ x·sg(x) = sg(x), not 2x; gathering with indices computed from x needs no index gradient.
        const f = (v: tf.Tensor) => {
          const order = stopGradient(tf.topk(v, 3).indices);
          return tf.sum(tf.mul(tf.gather(v, order), tf.gather(stopGradient(v), order)));
        };
        const { value, grad } = tf.valueAndGrad(f)(x);
        assert.equal(value.arraySync(), 14);
        assert.deepEqual(Array.from(grad.dataSync()), [1, -2, 3]);
      });
    });

    it('partitions by task and inverts the permutation', () => {
      const { members, inverse } = partitionByTask(Int32Array.from([2, 0, 2, 1]), 4);
      assert.deepEqual(
        members.map((m) => [...m]),
        [[1], [3], [0, 2], []],
      );
      assert.deepEqual([...inverse], [2, 0, 3, 1]);
      assert.throws(() => partitionByTask(Int32Array.from([0, 5]), 4), /task id 5 out of range/);
    });

    it('runs each task on its own samples and reassembles batch order', () => {
      tf.tidy(() => {
        const x = tf.tensor2d([[1], [2], [3], [4]]);
        const out = runGroupedByTask(x, Int32Array.from([1, 0, 1, 2]), 3, (task, samples) =>
          tf.add(tf.mul(samples, 10), task),
        );
        assert.deepEqual(out.arraySync(), [[11], [20], [31], [42]]);
      });
    });

    // A batch grouped in task order is split (gradient: concat), any other gathered (gradient: segment sum).
    for (const ids of [
      [0, 0, 1, 2, 2],
      [2, 0, 1, 0, 2],
      [1, 1, 1, 1, 1],
    ])
      it(`routes values and gradients of tasks ${ids.join(',')} to each sample's own task`, () => {
        tf.tidy(() => {
          const x = tf.tensor2d([
            [1, -1],
            [2, 0.5],
            [3, 2],
            [4, -3],
            [5, 1],
          ]);
          const weights = tf.tensor2d([
            [1, 2],
            [3, 4],
            [5, 6],
            [7, 8],
            [9, 10],
          ]);
          // Task t squares its samples and scales them by t + 1: d/dx (w·(t+1)·x²) = 2·w·(t+1)·x.
          const f = (input: tf.Tensor2D) =>
            tf.sum(
              tf.mul(
                weights,
                runGroupedByTask(input, Int32Array.from(ids), 3, (task, samples) =>
                  tf.mul(tf.square(samples), task + 1),
                ),
              ),
            );
          const xs = x.arraySync();
          const ws = weights.arraySync();
          let expectedValue = 0;
          const expectedGrad = xs.map((row, i) =>
            row.map((v, c) => {
              const scale = ws[i]![c]! * (ids[i]! + 1);
              expectedValue += scale * v * v;
              return 2 * scale * v;
            }),
          );
          assert.equal(f(x).arraySync(), expectedValue);
          assert.deepEqual(
            tf
              .grad((input: tf.Tensor) => f(input as tf.Tensor2D))(x)
              .arraySync(),
            expectedGrad,
          );
        });
      });

    it("selects each sample's row of its own task", () => {
      tf.tidy(() => {
        const stacked = tf.tensor3d([
          [[1], [2]],
          [[10], [20]],
          [[100], [200]],
        ]); // [T=3, N=2, 1]
        assert.deepEqual(selectPerSample(stacked, Int32Array.from([2, 1])).arraySync(), [[100], [20]]);
      });
    });
  });

  describe('taskBatchNormalize', () => {
    it("equals BatchNorm on each task's samples alone, moving only present tasks' averages", () => {
      const spec = { decay: 0.8, epsilon: 1e-3, scale: true };
      const make = (prefix: string) => {
        const store = VariableStore.root(prefix, 1);
        const { modules, parameters } = perTaskModules(store, 3, (own, t) => {
          const v = batchNormVariables(own, 2, true);
          v.gamma!.assign(tf.tensor1d([1 + t, 0.5]));
          v.beta.assign(tf.tensor1d([t, -t]));
          return v;
        });
        assert.deepEqual(
          parameters.filter((p) => p.trainable).map((p) => [p.name, p.owner]),
          [0, 1, 2].flatMap((task) => [
            [`${prefix}task${task}/gamma`, { task }],
            [`${prefix}task${task}/beta`, { task }],
          ]),
        );
        return { store, modules };
      };
      const { store: tasks, modules: mixed } = make('bn/');
      const { store: alone, modules: separate } = make('alone/');
      tf.tidy(() => {
        const x = tf.add(seeded([5, 3, 2, 2], 8), 3) as tf.Tensor4D;
        // Task 2 absent; mixed, then grouped in task order (the two ways a batch is cut by task).
        for (const [ids, training] of [
          [Int32Array.from([1, 0, 1, 1, 0]), true],
          [Int32Array.from([1, 0, 1, 1, 0]), false],
          [Int32Array.from([0, 0, 1, 1, 1]), true],
          [Int32Array.from([0, 0, 1, 1, 1]), false],
        ] as const) {
          const together = taskBatchNormalize(mixed, spec, x, ids, training);
          for (const task of [0, 1]) {
            const members = Array.from(ids).flatMap((t, i) => (t === task ? [i] : []));
            const expected = batchNormalize(separate[task]!, spec, tf.gather(x, members), training);
            assert.ok(
              maxDiff(tf.gather(together, members), expected) < 1e-5,
              `task ${task}, training ${training}`,
            );
            assert.ok(maxDiff(mixed[task]!.movingMean, separate[task]!.movingMean) < 1e-6);
            assert.ok(maxDiff(mixed[task]!.movingVariance, separate[task]!.movingVariance) < 1e-6);
          }
        }
        assert.deepEqual(Array.from(mixed[2]!.movingMean.dataSync()), [0, 0], 'absent task 2 untouched');
      });
      tasks.dispose();
      alone.dispose();
    });
  });

  describe('poolToGrid', () => {
    const cases: [number, number][] = [
      [32, 16],
      [73, 35],
      [28, 14],
      [7, 7],
      [9, 2],
    ];
    for (const [from, to] of cases) {
      it(`max-pools ${from}×${from} onto ${to}×${to}, every output the maximum of its window`, () => {
        tf.tidy(() => {
          const x = seeded([1, from, from, 2], from) as tf.Tensor4D;
          const y = poolToGrid(x, to, to);
          assert.deepEqual(y.shape, [1, to, to, 2]);
          const stride = Math.floor(from / to);
          const window = from - (to - 1) * stride;
          assert.equal((to - 1) * stride + window, from, 'the windows end at the last row');
          const xs = x.arraySync()[0]!;
          const ys = y.arraySync()[0]!;
          for (let i = 0; i < to; i++) {
            for (let j = 0; j < to; j++) {
              for (let c = 0; c < 2; c++) {
                let expected = -Infinity;
                for (let a = 0; a < window; a++)
                  for (let b = 0; b < window; b++)
                    expected = Math.max(expected, xs[i * stride + a]![j * stride + b]![c]!);
                assert.equal(ys[i]![j]![c], expected);
              }
            }
          }
        });
      });
    }
    it('refuses to enlarge', () => {
      tf.tidy(() => assert.throws(() => poolToGrid(tf.zeros([1, 4, 4, 1]), 8, 8), /larger 8×8 grid/));
    });
  });

  describe('backbone parts', () => {
    const backbone = tinyBackbone({ inputSize: 16, channels: [4, 8], embeddingDim: 6 });

    it("lists a stage's variables by the <scope><stage>/ rule", () => {
      const net = backbone.instantiate('b/', 1);
      try {
        const names = (stages: string[]) => stageVariables(net, 'b/', stages).map((v) => v.name);
        assert.ok(names(['conv2']).length > 0);
        assert.ok(names(['conv2']).every((n) => n.startsWith('b/conv2/')));
        assert.equal(
          names(['conv1', 'conv2', 'embedding']).length,
          net.variables().length,
          'every variable belongs to a stage',
        );
        assert.throws(() => stageVariables(net, 'other/', ['conv1']), /is not under a stage's name/);
      } finally {
        net.dispose();
      }
    });

    it('lets a method take over every BatchNorm layer through the forward context', () => {
      const net = backbone.instantiate('b/', 1);
      try {
        tf.tidy(() => {
          const x = seeded([2, 16, 16, 3], 4);
          const seen: BatchNormLayer[] = [];
          // Training mode: batch statistics, so normalising differs from passing through.
          const plain = runStages(net, x, { training: true });
          const identity = runStages(net, x, {
            training: true,
            batchNorm: (layer, input) => (seen.push(layer), input),
          });
          assert.equal(seen.length, 2, 'conv1 and conv2 have one BatchNorm each');
          assert.ok(maxDiff(plain, identity) > 1e-3, 'the override replaced the normalisation');
          const delegated = runStages(net, x, {
            training: true,
            batchNorm: (layer, input) => batchNormalize(layer, layer.spec, input, true),
          });
          assert.equal(maxDiff(plain, delegated), 0);
        });
      } finally {
        net.dispose();
      }
    });

    it('counts one gallery pass when only the embedding is task-specific', () => {
      const d = backbone.description;
      assert.equal(galleryPassesAfter(d, [2], 5), 1);
      assert.equal(galleryPassesAfter(d, [1, 2], 5), 5);
    });
  });
});
