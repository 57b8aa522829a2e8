import { strict as assert } from 'node:assert';
import { facenetSmallBackbone, facenetSmallPlugin } from '../plugins/backbone/facenet-small.js';
import { resnet18Backbone, resnet18Plugin } from '../plugins/backbone/resnet18.js';
import { tinyBackbone, tinyPlugin } from '../plugins/backbone/tiny.js';
import type { BackboneFactory, BackboneNet } from '../src/kinds/index.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

function trainableCount(net: BackboneNet): number {
  return net.variables().reduce((n, v) => n + (v.trainable ? v.variable.size : 0), 0);
}

function stateCount(net: BackboneNet): number {
  return net.variables().reduce((n, v) => n + (v.trainable ? 0 : v.variable.size), 0);
}

function counts(factory: BackboneFactory): { trainable: number; state: number } {
  const net = factory.instantiate('count/', 1);
  const result = { trainable: trainableCount(net), state: stateCount(net) };
  net.dispose();
  return result;
}

/** A `[h, w, c]` image as nested arrays, for the plain-loop reference. */
type Image = number[][][];

function conv3x3(x: Image, kernel: Float32Array, outC: number, same: boolean): Image {
  const [h, w, inC] = [x.length, x[0]!.length, x[0]![0]!.length];
  const pad = same ? 1 : 0;
  const [oh, ow] = same ? [h, w] : [h - 2, w - 2];
  const out: Image = [];
  for (let i = 0; i < oh; i++) {
    const row: number[][] = [];
    for (let j = 0; j < ow; j++) {
      const pixel = new Array<number>(outC).fill(0);
      for (let di = 0; di < 3; di++) {
        for (let dj = 0; dj < 3; dj++) {
          const [si, sj] = [i + di - pad, j + dj - pad];
          if (si < 0 || sj < 0 || si >= h || sj >= w) continue;
          for (let c = 0; c < inC; c++) {
            const v = x[si]![sj]![c]!;
            for (let o = 0; o < outC; o++) pixel[o]! += v * kernel[((di * 3 + dj) * inC + c) * outC + o]!;
          }
        }
      }
      row.push(pixel);
    }
    out.push(row);
  }
  return out;
}

interface BnValues {
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** BatchNorm (beta only, as TF-slim) then ReLU; `training` uses the image's own statistics (batch of one). */
function bnRelu(x: Image, bn: BnValues, training: boolean): Image {
  const channels = x[0]![0]!.length;
  const pixels = x.flat();
  const mean = Array.from({ length: channels }, (_, c) =>
    training ? pixels.reduce((s, p) => s + p[c]!, 0) / pixels.length : bn.mean[c]!,
  );
  const variance = Array.from({ length: channels }, (_, c) =>
    training ? pixels.reduce((s, p) => s + (p[c]! - mean[c]!) ** 2, 0) / pixels.length : bn.variance[c]!,
  );
  return x.map((row) =>
    row.map((p) =>
      p.map((v, c) => Math.max(0, (v - mean[c]!) / Math.sqrt(variance[c]! + 0.001) + bn.beta[c]!)),
    ),
  );
}

function maxPool2(x: Image): Image {
  const out: Image = [];
  for (let i = 0; i + 1 < x.length; i += 2) {
    const row: number[][] = [];
    for (let j = 0; j + 1 < x[0]!.length; j += 2) {
      row.push(
        x[i]![j]!.map((_, c) =>
          Math.max(x[i]![j]![c]!, x[i]![j + 1]![c]!, x[i + 1]![j]![c]!, x[i + 1]![j + 1]![c]!),
        ),
      );
    }
    out.push(row);
  }
  return out;
}

describe('backbones', () => {
  describe('facenet-small', () => {
    for (const training of [false, true]) {
      it(`one residual block matches a plain-loop computation (${training ? 'training' : 'inference'})`, () => {
        const factory = facenetSmallBackbone({ inputSize: 48, embeddingDim: 8 });
        const net = factory.instantiate('', 3);
        const rng = new Rng(11);
        const byName = new Map(net.variables().map((v) => [v.name, v.variable]));
        // Non-trivial BatchNorm state so that the reference exercises it.
        for (const [name, variable] of byName) {
          if (!name.startsWith('block1/')) continue;
          const draw = name.endsWith('moving_variance')
            ? () => rng.uniform(0.5, 2)
            : () => rng.uniform(-0.5, 0.5);
          if (!name.endsWith('kernel'))
            variable.assign(tf.tensor1d(Float32Array.from({ length: variable.size }, draw)));
        }
        const read = (name: string) => byName.get(name)!.dataSync() as Float32Array;
        const bn = (unit: string): BnValues => ({
          beta: read(`block1/${unit}/bn/beta`),
          mean: read(`block1/${unit}/bn/moving_mean`),
          variance: read(`block1/${unit}/bn/moving_variance`),
        });
        const input: Image = Array.from({ length: 8 }, () =>
          Array.from({ length: 8 }, () => Array.from({ length: 32 }, () => rng.uniform(-1, 1))),
        );
        const pooled = maxPool2(
          bnRelu(conv3x3(input, read('block1/conv1/conv/kernel'), 64, false), bn('conv1'), training),
        );
        const a = bnRelu(
          conv3x3(pooled, read('block1/conv2a/conv/kernel'), 64, true),
          bn('conv2a'),
          training,
        );
        const b = bnRelu(conv3x3(a, read('block1/conv2b/conv/kernel'), 64, true), bn('conv2b'), training);
        const expected = b.map((row, i) => row.map((p, j) => p.map((v, c) => v + pooled[i]![j]![c]!)));

        const block = factory.description.stages.findIndex((s) => s.name === 'block1');
        const actual = tf.tidy(() =>
          net.runStage(block, tf.tensor([input]), { training }).arraySync(),
        ) as Image[];
        assert.deepEqual([actual[0]!.length, actual[0]![0]!.length, actual[0]![0]![0]!.length], [3, 3, 64]);
        const diff = Math.max(...actual[0]!.flat(2).map((v, i) => Math.abs(v - expected.flat(2)[i]!)));
        assert.ok(diff < 1e-3, `max difference ${diff}`);
        net.dispose();
      });
    }

    it('has the closed-form parameter count (2.95 M weights at 150×150, embedding 256)', () => {
      const formula = (side: number, d: number) => {
        const blocks = [64, 128, 128, 128];
        let s = side - 2; // 3×3 valid stem
        let weights = 3 * 3 * 3 * 32;
        let bnChannels = 32;
        let inC = 32;
        for (const c of blocks) {
          s = Math.floor((s - 2) / 2); // valid conv, 2×2 pool
          weights += 9 * inC * c + 2 * 9 * c * c;
          bnChannels += 3 * c;
          inC = c;
        }
        weights += s * s * inC * d;
        bnChannels += d;
        // TF-slim BatchNorm: beta trainable (no gamma), moving mean and variance as state.
        return { weights, trainable: weights + bnChannels, state: 2 * bnChannels };
      };
      const paper = formula(150, 256);
      assert.equal(paper.weights, 2_952_032);
      assert.equal(paper.trainable, 2_953_664);
      assert.deepEqual(counts(facenetSmallBackbone({ inputSize: 150, embeddingDim: 256 })), {
        trainable: paper.trainable,
        state: paper.state,
      });
      const small = formula(61, 16);
      assert.deepEqual(counts(facenetSmallBackbone({ inputSize: 61, embeddingDim: 16 })), {
        trainable: small.trainable,
        state: small.state,
      });
    });
  });

  describe('resnet18', () => {
    const formula = (layers: number, d: number) => {
      let trainable = 7 * 7 * 3 * 64 + 2 * 64;
      let state = 2 * 64;
      let inC = 64;
      [64, 128, 256, 512].slice(0, layers).forEach((c) => {
        for (let b = 0; b < 2; b++) {
          const cin = b === 0 ? inC : c;
          trainable += 9 * cin * c + 9 * c * c + 2 * (2 * c);
          state += 2 * (2 * c);
          if (b === 0 && cin !== c) {
            trainable += cin * c + 2 * c; // 1×1 projection shortcut and its BatchNorm
            state += 2 * c;
          }
        }
        inC = c;
      });
      return { trainable: trainable + inC * d + d, state };
    };

    it('matches torchvision resnet18 (11,689,512 parameters with a 1000-way linear layer)', () => {
      assert.equal(formula(4, 1000).trainable, 11_689_512);
      assert.deepEqual(
        counts(resnet18Backbone({ depth: 'layer4', inputSize: 32, embeddingDim: 1000 })),
        formula(4, 1000),
      );
    });

    it('ends after layer3 for the CSN protocol (112 px, 64-d embedding)', () => {
      const factory = resnet18Backbone({ depth: 'layer3', inputSize: 112, embeddingDim: 64 });
      assert.deepEqual(
        factory.description.stages.map((s) => [s.name, s.outputShape]),
        [
          ['stem', [28, 28, 64]],
          ['layer1', [28, 28, 64]],
          ['layer2', [14, 14, 128]],
          ['layer3', [7, 7, 256]],
          ['embedding', [64]],
        ],
      );
      assert.deepEqual(counts(factory), formula(3, 64));
    });
  });

  it('tiny has the closed-form parameter count', () => {
    const [c1, c2, c3, d] = [8, 16, 32, 32];
    const trainable = 27 * c1 + 9 * c1 * c2 + 9 * c2 * c3 + 2 * (c1 + c2 + c3) + 4 * 4 * c3 * d + d;
    assert.deepEqual(counts(tinyBackbone({ inputSize: 32, channels: [c1, c2, c3], embeddingDim: d })), {
      trainable,
      state: 2 * (c1 + c2 + c3),
    });
  });

  const oddSizes: [string, BackboneFactory][] = [
    ['facenet-small at 51 px', facenetSmallBackbone({ inputSize: 51, embeddingDim: 4 })],
    ['resnet18 layer3 at 37 px', resnet18Backbone({ depth: 'layer3', inputSize: 37, embeddingDim: 4 })],
    ['tiny at 13 px', tinyBackbone({ inputSize: 13, channels: [2, 2, 2], embeddingDim: 4 })],
  ];
  for (const [label, factory] of oddSizes) {
    it(`describes its stage shapes exactly: ${label}`, () => {
      const net = factory.instantiate('', 1);
      tf.tidy(() => {
        let x: tf.Tensor = tf.zeros([1, ...factory.description.inputShape]);
        factory.description.stages.forEach((stage, i) => {
          x = net.runStage(i, x, { training: false });
          assert.deepEqual(x.shape, [1, ...stage.outputShape], stage.name);
        });
      });
      net.dispose();
    });
  }

  it('rejects inputs too small for the architecture and fills defaults', () => {
    assert.equal(facenetSmallPlugin.options.safeParse({ inputSize: 47 }).success, false);
    assert.deepEqual(facenetSmallPlugin.options.parse({}), { inputSize: 150, embeddingDim: 256 });
    assert.equal(resnet18Plugin.options.safeParse({ inputSize: 31 }).success, false);
    assert.deepEqual(resnet18Plugin.options.parse({}), { depth: 'layer4', inputSize: 112, embeddingDim: 64 });
    const tooSmall = tinyPlugin.options.safeParse({ inputSize: 4, channels: [2, 2, 2] });
    assert.deepEqual(
      tooSmall.error?.issues.map((i) => i.path),
      [['inputSize']],
    );
    assert.equal(tinyPlugin.options.safeParse({ depth: 3 }).success, false, 'strict: unknown keys fail');
  });
});
