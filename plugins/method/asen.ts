/**
 * asen (Ma et al., "Fine-Grained Fashion Similarity Learning by Attribute-Specific Embedding Network", AAAI
 * 2020), as the authors' released code (Maryeon/asen, model.py) builds it. The backbone runs up to one
 * stage (ResNet-50's `layer3` there; by default here the stage that plays it: `layer3` where the backbone
 * has one, else the second-to-last conv stage) and gives the feature map x (h × w × C); two attention
 * modules guided by the task (the "attribute") turn it into the task's embedding:
 *
 * version 1 (ASENet):
 *   a = tanh(W_a[t])                      W_a: the one-hot → S linear without bias, i.e. a row per task
 *   F = tanh(conv1x1_{C→S}(x))
 *   s = softmax over positions of tanh(conv1x1_{S→1}(a ⊙ F))        attribute-aware spatial attention
 *   p = Σ_positions s · x                                              (C)
 *   m = sigmoid(fc_{H→C}(ReLU(fc_{2C→H}([p ; ReLU(W_c[t])]))))        attribute-aware channel attention
 *   embedding = fc_{C→D}(p ⊙ m)                                        W_c: one-hot → C, without bias
 *
 * version 2 (ASENet_V2): a learned attribute embedding e_t (A) replaces the one-hot linears;
 *   a = tanh(fc_{A→S}(e_t)),  F = tanh(BN(conv1x1_{C→S}(x))),
 *   s = softmax over positions of (Σ_channels a ⊙ F) / √S                (no conv)
 *   m = sigmoid(fc_{H→C}(ReLU(fc_{C+A→H}([p ; ReLU(fc_{A→A}(e_t))]))))
 *
 * S (`spatialWidth`), H (`channelWidth`) and A (`attributeWidth`) are 512 in the released code; D is the
 * backbone's embedding size (the released v1 fixes it at C = 1024). Every linear layer and 1×1 conv has a
 * bias except the one-hot ones, all drawn as PyTorch initialises them; e_t ~ N(0, 1) as nn.Embedding; the
 * BatchNorm has PyTorch's defaults. The engine L2-normalises the embedding, as the released `l2norm`.
 * The released code trains with a margin ranking loss on dot products of those normalised embeddings: on
 * unit vectors that is mtlzoo's `triplet` loss (squared distance = 2 − 2·dot) with twice the margin, at
 * half the gradient scale.
 *
 * The backbone's stages after the attached one are not used (not trained, not saved). The features depend
 * on the task from the attention on: one gallery pass per task. `explain` returns the spatial attention s.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type {
  BackboneDescription,
  BackboneNet,
  ForwardContext,
  NamedVariable,
} from '../../src/kinds/backbone.js';
import type { MethodCreateContext, MtlModel, ParameterEntry } from '../../src/kinds/method.js';
import type { OptionIssue } from '../../src/plugin/types.js';
import { MtlzooError } from '../../src/errors.js';
import * as tf from '../../src/tf.js';
import {
  assertTaskIds,
  batchNormalize,
  type BatchNormVariables,
  batchNormVariables,
  Dense,
  gatherByTask,
  initializers,
  owned,
  parameterReport,
  perTaskVariables,
  pointwise,
  runStages,
  stackPerTask,
  stageVariables,
  TORCH_BATCH_NORM,
  VariableStore,
} from 'mtlzoo/nn';

const width = z.number().int().positive().default(512);

const options = z.strictObject({
  version: z.union([z.literal(1), z.literal(2)]).default(1),
  /** The stage whose output the attention reads; default: `layer3`, else the second-to-last conv stage. */
  stage: z.string().optional(),
  /** S: the common width of the attribute vector and the image feature in the spatial attention. */
  spatialWidth: width,
  /** H: the hidden width of the channel attention. */
  channelWidth: width,
  /** A (version 2): the attribute embedding's width. */
  attributeWidth: width,
});

export type AsenOptions = z.output<typeof options>;

/** The stage that plays ResNet's `layer3`: itself where it exists, else the second-to-last conv stage. */
export function defaultAsenStage(backbone: BackboneDescription): string {
  if (backbone.stages.some((s) => s.name === 'layer3')) return 'layer3';
  const spatial = backbone.stages.filter((s) => s.outputShape.length === 3).map((s) => s.name);
  return spatial.at(-2) ?? spatial.at(-1) ?? 'embedding';
}

function attachIndex(stage: string | undefined, backbone: BackboneDescription): number | OptionIssue {
  const name = stage ?? defaultAsenStage(backbone);
  const index = backbone.stages.findIndex((s) => s.name === name);
  if (index < 0 || backbone.stages[index]!.outputShape.length !== 3) {
    const spatial = backbone.stages.filter((s) => s.outputShape.length === 3).map((s) => s.name);
    return {
      path: ['stage'],
      message: `expected a conv stage of backbone ${backbone.name} (${spatial.join(', ')}), got "${name}"`,
    };
  }
  return index;
}

/** A linear layer with PyTorch's default initialisation (weights and bias U(±1/√fanIn)). */
function torchDense(store: VariableStore, inFeatures: number, outFeatures: number): Dense {
  return new Dense(store, {
    inFeatures,
    outFeatures,
    init: initializers.torchLinear(),
    biasInit: initializers.torchLinear(inFeatures),
  });
}

/** Per-task parameters: v1's one-hot linears (rows), or v2's attribute embedding and its transforms. */
type Attribute =
  | { readonly version: 1; readonly spatial: ParameterEntry[]; readonly channel: ParameterEntry[] }
  | {
      readonly version: 2;
      readonly embedding: ParameterEntry[];
      readonly toSpatial: Dense;
      readonly toChannel: Dense;
    };

class AsenModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  private readonly stage: number;
  private readonly attribute: Attribute;
  private readonly imageConv: Dense;
  /** Version 2: the BatchNorm before tanh in the image branch. */
  private readonly imageBn: BatchNormVariables | undefined;
  /** Version 1: the 1×1 conv S → 1 of the spatial attention. */
  private readonly attentionConv: Dense | undefined;
  private readonly fc1: Dense;
  private readonly fc2: Dense;
  private readonly featureFc: Dense;
  /** The backbone's variables of the stages up to the attached one. */
  private readonly trunkVariables: readonly NamedVariable[];

  constructor(
    private readonly options: AsenOptions,
    context: MethodCreateContext,
  ) {
    const description = context.backbone.description;
    const stage = attachIndex(options.stage, description);
    if (typeof stage !== 'number') throw new MtlzooError('PLUGIN_INVALID', `method asen: ${stage.message}`);
    this.stage = stage;
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    const c = description.stages[stage]!.outputShape[2]!;
    const { spatialWidth: s, channelWidth: h, attributeWidth: a } = options;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    const used = description.stages.slice(0, stage + 1).map((s) => s.name);
    this.trunkVariables = stageVariables(this.trunk, 'trunk/', used);
    this.store = VariableStore.root('asen/', context.seed);
    const scope = (name: string) => this.store.scope(name);
    if (options.version === 1) {
      // nn.Linear(T, ·, bias=False) on a one-hot: row t is task t's, drawn U(±1/√T) as PyTorch does.
      const oneHotRows = (name: string, size: number) =>
        perTaskVariables(scope(name), this.taskCount, [size], () => initializers.torchLinear(this.taskCount));
      this.attribute = {
        version: 1,
        spatial: oneHotRows('attr_spatial', s),
        channel: oneHotRows('attr_channel', c),
      };
      this.attentionConv = torchDense(scope('attention_conv'), s, 1);
      this.imageBn = undefined;
    } else {
      this.attribute = {
        version: 2,
        embedding: perTaskVariables(scope('attr_embedding'), this.taskCount, [a], () =>
          initializers.normal(0, 1),
        ),
        toSpatial: torchDense(scope('attr_spatial'), a, s),
        toChannel: torchDense(scope('attr_channel'), a, a),
      };
      this.attentionConv = undefined;
      this.imageBn = batchNormVariables(scope('image_bn'), s, TORCH_BATCH_NORM.scale);
    }
    this.imageConv = torchDense(scope('image_conv'), c, s);
    this.fc1 = torchDense(scope('channel_fc1'), c + (options.version === 1 ? c : a), h);
    this.fc2 = torchDense(scope('channel_fc2'), h, c);
    this.featureFc = torchDense(scope('feature_fc'), c, this.embeddingDim);
  }

  /** The backbone's feature map at the attached stage, `[N, h, w, C]`. */
  private features(images: tf.Tensor4D, context: ForwardContext): tf.Tensor4D {
    return runStages(this.trunk, images, context, undefined, 0, this.stage + 1) as tf.Tensor4D;
  }

  /** Attribute-aware spatial attention `[N, h·w]` over `x` `[N, h, w, C]`. */
  private spatialAttention(x: tf.Tensor4D, taskIds: Int32Array, training: boolean): tf.Tensor2D {
    const [n, height, width] = x.shape;
    const { spatialWidth } = this.options;
    let image = pointwise(this.imageConv, x);
    if (this.imageBn) image = batchNormalize(this.imageBn, TORCH_BATCH_NORM, image, training);
    const positions = tf.reshape(tf.tanh(image), [n, height * width, spatialWidth]);
    let logits: tf.Tensor;
    if (this.attribute.version === 1) {
      const a = tf.tanh(gatherByTask(stackPerTask(this.attribute.spatial), taskIds));
      const joint = tf.mul(positions, tf.expandDims(a, 1));
      logits = tf.tanh(tf.reshape(pointwise(this.attentionConv!, joint), [n, height * width]));
    } else {
      const e = gatherByTask(stackPerTask(this.attribute.embedding), taskIds) as tf.Tensor2D;
      const a = tf.tanh(this.attribute.toSpatial.apply(e));
      const dot = tf.matMul(positions as tf.Tensor3D, tf.expandDims(a, 2) as tf.Tensor3D);
      logits = tf.div(tf.reshape(dot, [n, height * width]), Math.sqrt(spatialWidth));
    }
    return tf.softmax(logits) as tf.Tensor2D;
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(() => {
      const x = this.features(images, context);
      const [n, height, width, c] = x.shape;
      const attention = this.spatialAttention(x, taskIds, context.training);
      // p = Σ_positions s · x: [N, 1, h·w] × [N, h·w, C].
      const pooled = tf.reshape(
        tf.matMul(
          tf.expandDims(attention, 1) as tf.Tensor3D,
          tf.reshape(x, [n, height * width, c]) as tf.Tensor3D,
        ),
        [n, c],
      ) as tf.Tensor2D;
      const attributeChannel =
        this.attribute.version === 1
          ? tf.relu(gatherByTask(stackPerTask(this.attribute.channel), taskIds))
          : tf.relu(
              this.attribute.toChannel.apply(
                gatherByTask(stackPerTask(this.attribute.embedding), taskIds) as tf.Tensor2D,
              ),
            );
      const hidden = tf.relu(this.fc1.apply(tf.concat([pooled, attributeChannel], 1) as tf.Tensor2D));
      const mask = tf.sigmoid(this.fc2.apply(hidden));
      return this.featureFc.apply(tf.mul(pooled, mask) as tf.Tensor2D);
    });
  }

  explain(images: tf.Tensor4D, taskIds: Int32Array): tf.Tensor3D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(() => {
      const x = this.features(images, { training: false });
      const [n, height, width] = x.shape;
      return tf.reshape(this.spatialAttention(x, taskIds, false), [n, height, width]) as tf.Tensor3D;
    });
  }

  parameters(): readonly ParameterEntry[] {
    const perTask =
      this.attribute.version === 1
        ? [...this.attribute.spatial, ...this.attribute.channel]
        : this.attribute.embedding;
    const perTaskNames = new Set(perTask.map((p) => p.name));
    const head = this.store.variables().filter((v) => !perTaskNames.has(v.name));
    return [...owned(this.trunkVariables, 'shared'), ...owned(head, 'shared'), ...perTask];
  }

  report() {
    return parameterReport(this.parameters(), this.taskCount, this.taskCount);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
  }
}

export const asenPlugin = definePlugin({
  kind: 'method',
  name: 'asen',
  version: '0.1.0',
  description:
    'Attribute-specific embedding network: task-guided spatial and channel attention on one backbone stage (v1 or v2)',
  options,
  check: (o, { backbone }) => {
    if (!backbone) return [];
    const stage = attachIndex(o.stage, backbone);
    return typeof stage === 'number' ? [] : [stage];
  },
  create: (o, context) => new AsenModel(o, context),
});
