import { strict as assert } from 'node:assert';
import { tinyBackbone } from '../plugins/backbone/tiny.js';
import { marginRankingLoss } from '../plugins/loss/margin-ranking.js';
import { CSN_EMBEDDING_NORM_WEIGHT, CSN_MASK_L1_WEIGHT, csnPlugin } from '../plugins/method/csn.js';
import { tripletLosses } from '../src/engine/objective.js';
import type { DatasetSplit, MtlModel, TripletLossFunction } from '../src/kinds/index.js';
import { runStages } from '../src/nn/index.js';
import * as tf from '../src/tf.js';
import { uniqueImages } from '../src/train/sampler.js';
import { Rng } from '../src/util/random.js';

const T = 3;
const D = 6;
const tiny = () => tinyBackbone({ inputSize: 16, channels: [4, 8], embeddingDim: D });

/**
 * Triplets over 7 images and 3 tasks; image 0 is the anchor of two task-0 triplets and image 5 appears
 * under two tasks, so samples repeat across triplets as in real batches.
 */
const TRIPLETS = {
  taskIds: Int32Array.from([0, 0, 1, 2, 2]),
  anchor: Int32Array.from([0, 0, 5, 6, 5]),
  positive: Int32Array.from([1, 2, 3, 4, 2]),
  negative: Int32Array.from([2, 3, 4, 5, 6]),
};

/** Not read: the triplets are given and no negatives are mined. */
const SPLIT = {} as DatasetSplit;

function images(count: number): tf.Tensor4D {
  const rng = new Rng(9);
  return tf.tensor4d(
    Float32Array.from({ length: count * 16 * 16 * 3 }, () => rng.uniform(-1, 1)),
    [count, 16, 16, 3],
  );
}

async function csn(options: object): Promise<MtlModel> {
  return csnPlugin.create(csnPlugin.options.parse(options), { backbone: tiny(), taskCount: T, seed: 4 });
}

/**
 * Hand computation (float64) of the released objective's parts from the trunk's embedding of every sample
 * (`unmasked`, batch sample order) and each task's mask.
 */
function byHand(
  unmasked: number[][],
  masks: number[][],
  normalize: boolean,
  margin: number,
  weights: { embed: number; mask: number },
) {
  const batch = uniqueImages(TRIPLETS);
  const n = batch.anchor.length;
  const rowOf = (sample: number) => unmasked[sample]!;
  const maskOf = (sample: number) => masks[batch.sampleTask[sample]!]!;
  const masked = (sample: number) => {
    const v = rowOf(sample).map((e, d) => e * maskOf(sample)[d]!);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return normalize ? v.map((x) => x / norm) : v;
  };
  const distance = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, x, d) => s + (x - b[d]!) ** 2, 0));
  const losses = Array.from(batch.anchor, (a, i) => {
    const anchor = masked(a);
    return Math.max(
      0,
      distance(anchor, masked(batch.positive[i]!)) - distance(anchor, masked(batch.negative[i]!)) + margin,
    );
  });
  const roles = [batch.anchor, batch.negative, batch.positive];
  // csn.py: embedded_x.norm(2) and mask.norm(1) of the whole batch; tripletnet.py averages the three roles.
  const embedNorm =
    roles
      .map((role) =>
        Math.sqrt(Array.from(role).reduce((s, i) => s + rowOf(i).reduce((t, e) => t + e * e, 0), 0)),
      )
      .reduce((s, v) => s + v, 0) / 3;
  const maskNorm =
    roles
      .map((role) => Array.from(role).reduce((s, i) => s + maskOf(i).reduce((t, m) => t + Math.abs(m), 0), 0))
      .reduce((s, v) => s + v, 0) / 3;
  // main.py: loss_embedd = embed_norm / sqrt(N), loss_mask = mask_norm / N.
  return { losses, penalty: weights.embed * (embedNorm / Math.sqrt(n)) + weights.mask * (maskNorm / n) };
}

function close(actual: number, expected: number, label: string): void {
  assert.ok(
    Math.abs(actual - expected) <= 1e-5 * Math.max(1, Math.abs(expected)),
    `${label}: ${actual} against ${expected}`,
  );
}

describe('csn as released', () => {
  let x: tf.Tensor4D;
  let loss: TripletLossFunction;
  before(async () => {
    x = images(7);
    loss = await marginRankingLoss.create({ margin: 0.2 }, {});
  });
  after(() => x.dispose());

  const cases: [string, object, boolean, { embed: number; mask: number }][] = [
    ['released defaults', {}, false, { embed: CSN_EMBEDDING_NORM_WEIGHT, mask: CSN_MASK_L1_WEIGHT }],
    [
      'heavier penalties',
      { embeddingNormWeight: 0.3, maskL1Weight: 0.02 },
      false,
      { embed: 0.3, mask: 0.02 },
    ],
    [
      'normalised after the mask',
      { normalize: 'after-mask', embeddingNormWeight: 0.1, maskL1Weight: 0.01 },
      true,
      { embed: 0.1, mask: 0.01 },
    ],
    [
      "mtlzoo 0.1's csn",
      { normalize: 'after-mask', embeddingNormWeight: 0, maskL1Weight: 0 },
      true,
      { embed: 0, mask: 0 },
    ],
    [
      'fixed masks',
      { masks: 'fixed' },
      false,
      { embed: CSN_EMBEDDING_NORM_WEIGHT, mask: CSN_MASK_L1_WEIGHT },
    ],
  ];
  for (const [label, options, normalize, weights] of cases) {
    it(`${label}: triplet losses and penalty match a hand computation`, async () => {
      const model = await csn(options);
      const trunk = tiny().instantiate('trunk/', 4);
      try {
        // Masks off their initialisation, some entries negative so the ReLU matters.
        const rng = new Rng(2);
        for (const p of model.parameters().filter((q) => q.name.startsWith('csn/mask/'))) {
          tf.tidy(() =>
            p.variable.assign(tf.tensor1d(Float32Array.from({ length: D }, () => rng.uniform(-0.5, 1.5)))),
          );
        }
        const batch = uniqueImages(TRIPLETS);
        const inputs = tf.gather(x, Int32Array.from(batch.images)) as tf.Tensor4D;
        // The trunk in training mode on the batch's samples, as the objective runs it (same statistics).
        const unmasked = tf.tidy(() =>
          (
            runStages(trunk, tf.gather(inputs, batch.sampleImage), { training: true }) as tf.Tensor2D
          ).arraySync(),
        );
        const masks =
          'masks' in options
            ? Array.from({ length: T }, (_, t) =>
                Array.from({ length: D }, (_, d) => (Math.floor(d / 2) === t ? 1 : 0)),
              )
            : Array.from({ length: T }, (_, t) =>
                Array.from(
                  model
                    .parameters()
                    .find((p) => p.name === `csn/mask/task${t}`)!
                    .variable.dataSync(),
                  (v) => Math.max(0, v),
                ),
              );
        const expected = byHand(unmasked, masks, normalize, 0.2, weights);
        const [losses, penalty] = tf.tidy(() => {
          const objective = tripletLosses(model, loss, inputs, batch, 'none', SPLIT);
          return [objective.losses.arraySync(), objective.penalty!.arraySync()];
        }) as [number[], number];
        inputs.dispose();
        expected.losses.forEach((l, i) => close(losses[i]!, l, `triplet ${i}`));
        assert.ok(
          expected.losses.some((l) => l > 0),
          'every triplet is beyond the margin',
        );
        close(penalty, expected.penalty, 'penalty');
        assert.equal(model.embeddingNorm, normalize ? 'l2' : 'none');
      } finally {
        trunk.dispose();
        model.dispose();
      }
    });
  }

  it("the penalty's gradient pushes learned masks towards zero where the ReLU lets it through", async () => {
    const model = await csn({ embeddingNormWeight: 1, maskL1Weight: 1 });
    try {
      const batch = uniqueImages(TRIPLETS);
      const inputs = tf.gather(x, Int32Array.from(batch.images)) as tf.Tensor4D;
      const mask = model.parameters().find((p) => p.name === 'csn/mask/task0')!;
      const gradient = tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tripletLosses(model, loss, inputs, batch, 'none', SPLIT).penalty!,
          [mask.variable],
        );
        return grads[mask.variable.name]!.arraySync() as number[];
      });
      inputs.dispose();
      // d/dm of mean |m| is sign(m)/N·(count of task-0 triplets) where m > 0, and 0 where ReLU cuts.
      const values = mask.variable.dataSync();
      gradient.forEach((g, d) => {
        if (values[d]! > 0) assert.ok(g > 0, `dimension ${d}: gradient ${g}`);
        else assert.equal(g, 0);
      });
    } finally {
      model.dispose();
    }
  });
});
