import { strict as assert } from 'node:assert';
import { facenetSmallBackbone } from '../plugins/backbone/facenet-small.js';
import { resnet18Backbone } from '../plugins/backbone/resnet18.js';
import { tinyBackbone } from '../plugins/backbone/tiny.js';
import { asenPlugin, defaultAsenStage } from '../plugins/method/asen.js';
import type { MtlModel } from '../src/kinds/index.js';
import { runStages } from '../src/nn/index.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

const T = 3;
const tiny = () => tinyBackbone({ inputSize: 16, channels: [4, 8], embeddingDim: 5 });

type Vector = Float64Array;

/** A plain float64 re-implementation of ASEN's forward (model.py), from the model's variables. */
class Reference {
  constructor(private readonly model: MtlModel) {}

  value(name: string): Vector {
    const entry = this.model.parameters().find((p) => p.name === name);
    assert.ok(entry, `no variable ${name}`);
    return Float64Array.from(entry.variable.dataSync());
  }

  /** y = x·W + b for W `[in, out]` stored row-major. */
  linear(x: Vector, name: string): Vector {
    const w = this.value(`${name}/kernel`);
    const b = this.value(`${name}/bias`);
    const out = b.slice();
    for (let i = 0; i < x.length; i++)
      for (let j = 0; j < out.length; j++) out[j]! += x[i]! * w[i * out.length + j]!;
    return out;
  }

  /**
   * The embedding of one sample: `x` its feature map as `positions` rows of `channels` values, `task` its
   * task, `version` 1 or 2, `spatialWidth` S.
   */
  embed(
    x: Vector[],
    task: number,
    version: 1 | 2,
    spatialWidth: number,
  ): { embedding: Vector; attention: Vector } {
    const tanh = (v: Vector) => v.map(Math.tanh);
    const relu = (v: Vector) => v.map((e) => Math.max(0, e));
    let image = x.map((row) => this.linear(row, 'asen/image_conv'));
    if (version === 2) {
      const [gamma, beta, mean, variance] = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((n) =>
        this.value(`asen/image_bn/${n}`),
      );
      image = image.map((row) =>
        row.map((v, s) => ((v - mean![s]!) / Math.sqrt(variance![s]! + 1e-5)) * gamma![s]! + beta![s]!),
      );
    }
    const features = image.map(tanh);
    let logits: number[];
    let attribute: Vector;
    if (version === 1) {
      const a = tanh(this.value(`asen/attr_spatial/task${task}`));
      const kernel = this.value('asen/attention_conv/kernel');
      const bias = this.value('asen/attention_conv/bias')[0]!;
      logits = features.map((f) => Math.tanh(f.reduce((sum, v, s) => sum + a[s]! * v * kernel[s]!, bias)));
      attribute = relu(this.value(`asen/attr_channel/task${task}`));
    } else {
      const e = this.value(`asen/attr_embedding/task${task}`);
      const a = tanh(this.linear(e, 'asen/attr_spatial'));
      logits = features.map((f) => f.reduce((sum, v, s) => sum + a[s]! * v, 0) / Math.sqrt(spatialWidth));
      attribute = relu(this.linear(e, 'asen/attr_channel'));
    }
    const top = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - top));
    const total = exps.reduce((s, v) => s + v, 0);
    const attention = Float64Array.from(exps, (v) => v / total);
    const channels = x[0]!.length;
    const pooled = new Float64Array(channels);
    x.forEach((row, position) => row.forEach((v, c) => (pooled[c]! += attention[position]! * v)));
    const joined = new Float64Array(channels + attribute.length);
    joined.set(pooled);
    joined.set(attribute, channels);
    const hidden = relu(this.linear(joined, 'asen/channel_fc1'));
    const mask = this.linear(hidden, 'asen/channel_fc2').map((v) => 1 / (1 + Math.exp(-v)));
    return {
      embedding: this.linear(
        pooled.map((v, c) => v * mask[c]!),
        'asen/feature_fc',
      ),
      attention,
    };
  }
}

/** Sets every variable of the ASEN head (not the backbone) to seeded values, variances positive. */
function randomizeHead(model: MtlModel, seed: number): void {
  const rng = new Rng(seed);
  for (const p of model.parameters().filter((q) => q.name.startsWith('asen/'))) {
    const low = p.name.endsWith('moving_variance') ? 0.5 : -1;
    const values = Float32Array.from({ length: p.variable.size }, () => rng.uniform(low, 1.5));
    tf.tidy(() => p.variable.assign(tf.tensor(values, p.variable.shape)));
  }
}

describe('asen', () => {
  for (const version of [1, 2] as const) {
    it(`version ${version}: the forward pass agrees with a float64 plain-loop re-implementation to 1e-5`, async () => {
      const options = { version, spatialWidth: 7, channelWidth: 6, attributeWidth: 4, stage: 'conv2' };
      const backbone = tiny();
      const model = await asenPlugin.create(asenPlugin.options.parse(options), {
        backbone,
        taskCount: T,
        seed: 3,
      });
      // The same backbone weights (scope and seed), to read the feature map the head starts from.
      const trunk = backbone.instantiate('trunk/', 3);
      try {
        randomizeHead(model, 11 + version);
        const rng = new Rng(5);
        const images = tf.tensor4d(
          Float32Array.from({ length: 4 * 16 * 16 * 3 }, () => rng.uniform(-1, 1)),
          [4, 16, 16, 3],
        );
        const taskIds = Int32Array.from([2, 0, 1, 2]);
        const embedded = tf.tidy(() => model.embed(images, taskIds, { training: false }).arraySync());
        const maps = tf.tidy(() => model.explain!(images, taskIds).arraySync());
        const features = tf.tidy(() =>
          runStages(trunk, images, { training: false }, undefined, 0, 2).arraySync(),
        ) as number[][][][];
        images.dispose();
        const reference = new Reference(model);
        taskIds.forEach((task, n) => {
          const rows = features[n]!.flat().map((row) => Float64Array.from(row));
          const expected = reference.embed(rows, task, version, 7);
          const scale = Math.max(...expected.embedding.map(Math.abs));
          const worst = Math.max(...expected.embedding.map((v, d) => Math.abs(v - embedded[n]![d]!)));
          assert.ok(worst <= 1e-5 * scale, `sample ${n}: |Δ| ${worst} against scale ${scale}`);
          const attention = maps[n]!.flat();
          const worstMap = Math.max(...expected.attention.map((v, i) => Math.abs(v - attention[i]!)));
          assert.ok(
            worstMap <= 1e-5 * Math.max(...expected.attention),
            `attention of sample ${n}: |Δ| ${worstMap}`,
          );
        });
        // The maps are not uniform: the check compares something that varies over positions.
        assert.ok(Math.max(...maps[0]!.flat()) > 1.05 / 16, 'attention is uniform');
      } finally {
        trunk.dispose();
        model.dispose();
      }
    });
  }

  it('counts its parameters in closed form (tiny 16 px, attached at conv1, C 4, D 5, T 3)', async () => {
    const [c, d, s, h, a] = [4, 5, 7, 6, 3];
    const trunk = 3 * 3 * 3 * c + 2 * c; // conv1 only: the later stages are not used
    const cases: [1 | 2, number, number][] = [
      // one-hot rows per task; image conv, attention conv, fc1 (2C → H), fc2, feature fc with biases
      [1, s + c, trunk + (c * s + s) + (s + 1) + (2 * c * h + h) + (h * c + c) + (c * d + d)],
      // attribute embedding per task; its two transforms, image conv + BatchNorm, fc1 (C + A → H), fc2, fc
      [
        2,
        a,
        trunk +
          (a * s + s) +
          (a * a + a) +
          (c * s + s) +
          2 * s +
          ((c + a) * h + h) +
          (h * c + c) +
          (c * d + d),
      ],
    ];
    for (const [version, perTask, shared] of cases) {
      const options = asenPlugin.options.parse({
        version,
        spatialWidth: s,
        channelWidth: h,
        attributeWidth: a,
      });
      const model = await asenPlugin.create(options, { backbone: tiny(), taskCount: T, seed: 1 });
      const state = 2 * c + (version === 2 ? 2 * s : 0);
      assert.deepEqual(model.report(), {
        sharedParams: shared,
        paramsPerTask: perTask,
        totalParams: shared + T * perTask,
        bytes: 4 * (shared + T * perTask + state),
        galleryPasses: T,
      });
      model.dispose();
    }
  });

  it("attaches by default to the stage that plays ResNet's layer3", () => {
    assert.equal(
      defaultAsenStage(resnet18Backbone({ depth: 'layer4', inputSize: 112, embeddingDim: 64 }).description),
      'layer3',
    );
    assert.equal(
      defaultAsenStage(resnet18Backbone({ depth: 'layer3', inputSize: 112, embeddingDim: 64 }).description),
      'layer3',
    );
    assert.equal(
      defaultAsenStage(facenetSmallBackbone({ inputSize: 150, embeddingDim: 256 }).description),
      'block3',
    );
    assert.equal(
      defaultAsenStage(tinyBackbone({ inputSize: 32, channels: [8, 16, 32], embeddingDim: 32 }).description),
      'conv2',
    );
    const description = tiny().description;
    assert.deepEqual(
      asenPlugin.check!(asenPlugin.options.parse({ stage: 'embedding' }), { backbone: description }),
      [
        {
          path: ['stage'],
          message: 'expected a conv stage of backbone tiny (conv1, conv2), got "embedding"',
        },
      ],
    );
  });
});
