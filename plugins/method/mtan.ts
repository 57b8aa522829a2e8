/**
 * mtan (Liu et al., "End-to-End Multi-Task Learning with Attention", CVPR 2019): a shared trunk, and per
 * task a path of soft attention masks over it. At each attended stage j the task's attention module reads
 * the shared feature (concatenated with its own previous attended feature), and its mask, in [0, 1] per
 * position and channel, selects from the stage's output:
 *
 *   a_t^j = σ(BN(W2 · ReLU(BN(W1 · [b^j ; p̂_t^{j−1}]))))   (two 1×1 convolutions, per task)
 *   p_t^j = a_t^j ⊙ b^j
 *   p̂_t^j = pool(f^j(p_t^j))                                 (f^j: a shared 3×3 conv → BN → ReLU)
 *
 * where b^j is the shared trunk's output of stage j, the first module reads b^j alone, and `pool` is the
 * max-pool that maps stage j's grid onto the next attended stage's (2×2 stride 2 for a halving, as in
 * MTAN). The attention modules' middle width is C_j, as in the original and in LibMTL's ResNet version;
 * their BatchNorm follows PyTorch's defaults and keeps statistics per task. After the last attended stage
 * the backbone's remaining stages (the embedding head) run on each sample's own attended feature.
 *
 * mtlzoo's backbones expose stage boundaries only, so a module reads the stage's output where MTAN reads
 * the feature after the stage's first layers (LibMTL: `layer[:-1]`) and masks the stage's output. LibMTL's
 * ResNet version builds its per-task list as `[module] * T`, which shares one module across tasks; here
 * each task owns its modules, as the paper has it. Every sample runs the shared trunk once and its own
 * task's path; a gallery image needs one pass per task.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneDescription, BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type { MethodCreateContext, MtlModel, ParameterEntry } from '../../src/kinds/method.js';
import type { OptionIssue } from '../../src/plugin/types.js';
import { MtlzooError } from '../../src/errors.js';
import * as tf from '../../src/tf.js';
import {
  assertTaskIds,
  type BatchNormVariables,
  batchNormVariables,
  checkStages,
  ConvBn,
  convStages,
  initializers,
  owned,
  parameterReport,
  perTaskModules,
  poolToGrid,
  projectByTask,
  resolveStages,
  runStages,
  stageChannels,
  stagesOption,
  taskBatchNormalize,
  TORCH_BATCH_NORM,
  VariableStore,
} from 'mtlzoo/nn';

const options = z.strictObject({
  /** Stages with an attention module; default: every stage but `embedding`. */
  stages: stagesOption,
});

export type MtanOptions = z.output<typeof options>;

/** The embedding is a vector, with no positions to attend over. */
export function checkSpatialStages(
  stages: readonly string[] | undefined,
  backbone?: BackboneDescription,
): OptionIssue[] {
  const issues = checkStages(stages, backbone);
  if (issues.length > 0 || !stages || !backbone) return issues;
  return stages.flatMap((stage, i) =>
    backbone.stages.find((s) => s.name === stage)!.outputShape.length === 3
      ? []
      : [
          {
            path: ['stages', i],
            message: `"${stage}" has no spatial grid to attend over; pick a conv stage`,
          },
        ],
  );
}

/** One task's attention module at one stage: 1×1 conv → BN → ReLU → 1×1 conv → BN → sigmoid. */
interface AttentionModule {
  readonly conv1: tf.Variable;
  readonly bn1: BatchNormVariables;
  readonly conv2: tf.Variable;
  readonly bn2: BatchNormVariables;
}

function attentionModule(store: VariableStore, inChannels: number, channels: number): AttentionModule {
  // PyTorch's default conv initialisation (LibMTL leaves its attention layers at it).
  return {
    conv1: store.scope('conv1').add('kernel', [inChannels, channels], initializers.torchLinear()),
    bn1: batchNormVariables(store.scope('bn1'), channels, true),
    conv2: store.scope('conv2').add('kernel', [channels, channels], initializers.torchLinear()),
    bn2: batchNormVariables(store.scope('bn2'), channels, true),
  };
}

/** Each sample's attention mask from its own task's module. */
function attend(
  modules: readonly AttentionModule[],
  x: tf.Tensor,
  taskIds: Int32Array,
  training: boolean,
): tf.Tensor {
  return tf.tidy(() => {
    const conv = (pick: (m: AttentionModule) => tf.Variable, input: tf.Tensor) =>
      projectByTask(input, modules.map(pick), taskIds);
    const norm = (pick: (m: AttentionModule) => BatchNormVariables, input: tf.Tensor) =>
      taskBatchNormalize(modules.map(pick), TORCH_BATCH_NORM, input, taskIds, training);
    const hidden = tf.relu(
      norm(
        (m) => m.bn1,
        conv((m) => m.conv1, x),
      ),
    );
    return tf.sigmoid(
      norm(
        (m) => m.bn2,
        conv((m) => m.conv2, hidden),
      ),
    );
  });
}

interface AttendedStage {
  readonly index: number;
  /** One module per task. */
  readonly modules: readonly AttentionModule[];
  /** The shared f^j towards the next attended stage and that stage's grid; absent at the last. */
  readonly toNext: { readonly conv: ConvBn; readonly grid: readonly [number, number] } | undefined;
}

class MtanModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  /** The attention modules' variables, owned by their tasks. */
  private readonly perTask: ParameterEntry[] = [];
  private readonly attended: AttendedStage[];

  constructor(o: MtanOptions, context: MethodCreateContext) {
    const description = context.backbone.description;
    const issues = checkSpatialStages(o.stages, description);
    if (issues.length > 0) {
      throw new MtlzooError('PLUGIN_INVALID', `method mtan: ${issues.map((i) => i.message).join('; ')}`);
    }
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root('mtan/', context.seed);
    const indices = resolveStages('mtan', o.stages, description, convStages);
    this.attended = indices.map((index, k) => {
      const name = description.stages[index]!.name;
      const c = stageChannels(description, index);
      const inChannels = k === 0 ? c : 2 * c;
      const next = indices[k + 1];
      const nextStage = next === undefined ? undefined : description.stages[next]!;
      const toNext = nextStage && {
        conv: new ConvBn(
          this.store.scope(`${name}-to-${nextStage.name}`),
          {
            kernelSize: 3,
            inChannels: c,
            outChannels: nextStage.outputShape[2]!,
            padding: 'same',
            init: initializers.heNormal('fanOut'),
          },
          TORCH_BATCH_NORM,
        ),
        grid: [nextStage.outputShape[0]!, nextStage.outputShape[1]!] as const,
      };
      // `mtan/<stage>/task<t>/…`
      const { modules, parameters } = perTaskModules(this.store.scope(name), this.taskCount, (own) =>
        attentionModule(own, inChannels, c),
      );
      this.perTask.push(...parameters);
      return { index, modules, toNext };
    });
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(() => {
      let shared: tf.Tensor = images;
      let previous: tf.Tensor | undefined; // p̂ of the previous attended stage, on this stage's grid
      let attendedFeature: tf.Tensor = images;
      let from = 0;
      for (const stage of this.attended) {
        shared = runStages(this.trunk, shared, context, undefined, from, stage.index + 1);
        from = stage.index + 1;
        const input = previous ? tf.concat([shared, previous], -1) : shared;
        const masks = attend(stage.modules, input, taskIds, context.training);
        attendedFeature = tf.mul(masks, shared);
        if (stage.toNext) {
          const [height, width] = stage.toNext.grid;
          previous = poolToGrid(
            stage.toNext.conv.apply(attendedFeature as tf.Tensor4D, context),
            height,
            width,
          );
        }
      }
      return runStages(this.trunk, attendedFeature, context, undefined, from) as tf.Tensor2D;
    });
  }

  parameters(): readonly ParameterEntry[] {
    return [
      ...owned(this.trunk.variables(), 'shared'),
      ...owned(
        this.store.variables().filter((v) => !this.perTask.some((p) => p.variable === v.variable)),
        'shared',
      ),
      ...this.perTask,
    ];
  }

  report() {
    return parameterReport(this.parameters(), this.taskCount, this.taskCount);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
  }
}

export const mtanPlugin = definePlugin({
  kind: 'method',
  name: 'mtan',
  version: '0.1.0',
  description:
    'Shared trunk with per-task soft attention modules at each stage (Multi-Task Attention Network)',
  options,
  check: (o, { backbone }) => checkSpatialStages(o.stages, backbone),
  create: (o, context) => new MtanModel(o, context),
});
