/**
 * adapters (Rebuffi et al., "Learning multiple visual domains with residual adapters", NeurIPS 2017): one
 * shared trunk; after each chosen stage the output x of a sample of task t passes through that task's
 * series residual adapter, x + W_t · BN_t(x), where W_t is a C×C 1×1 convolution and BN_t a BatchNorm with
 * its own statistics and affine parameters (the reference code's `series_adapters` module: BatchNorm → 1×1
 * conv, plus the input). W_t is drawn as the reference code draws every conv, N(0, 2/C) (He, fan-out), and
 * BatchNorm follows PyTorch's defaults (momentum 0.1, ε 1e-5, γ 1, β 0). The reference places an adapter
 * after every 3×3 convolution; here after every conv stage by default.
 *
 * Each sample uses its own task's adapter (BatchNorm statistics per task, in training too). A sample's features depend on its task from the first adapter on: one gallery pass per task.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type { MethodCreateContext, MtlModel, ParameterEntry } from '../../src/kinds/method.js';
import * as tf from '../../src/tf.js';
import {
  PerTaskStores,
  assertTaskIds,
  batchNormVariables,
  galleryPassesAfter,
  gatherByTask,
  initializers,
  projectPerSample,
  runStages,
  taskBatchNormalize,
  TORCH_BATCH_NORM,
  type BatchNormVariables,
} from '../../src/nn/index.js';
import {
  checkStages,
  convStages,
  owned,
  parameterReport,
  resolveStages,
  stageChannels,
  stagesOption,
} from './support.js';

const options = z.strictObject({
  /** Stages followed by an adapter; default: every stage but `embedding`. */
  stages: stagesOption,
});

interface Adapter {
  readonly bn: BatchNormVariables;
  /** `[C, C]`: the 1×1 convolution. */
  readonly kernel: tf.Variable;
}

class AdaptersModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly tasks: PerTaskStores;
  /** Per adapted stage, one adapter per task. */
  private readonly adapters: Map<number, Adapter[]>;

  constructor(o: z.output<typeof options>, context: MethodCreateContext) {
    const description = context.backbone.description;
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.tasks = new PerTaskStores('adapters/', this.taskCount, context.seed);
    const indices = resolveStages('adapters', o.stages, description, convStages);
    this.adapters = new Map(
      indices.map((index) => {
        const c = stageChannels(description, index);
        const name = description.stages[index]!.name;
        const perTask = this.tasks.stores.map((store) => ({
          bn: batchNormVariables(store.scope(`${name}/bn`), c, TORCH_BATCH_NORM.scale),
          kernel: store.scope(name).add('kernel', [c, c], initializers.heNormal('fanOut')),
        }));
        return [index, perTask];
      }),
    );
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(
      () =>
        runStages(this.trunk, images, context, (index, output) => {
          const adapters = this.adapters.get(index);
          if (!adapters) return output;
          // x + W_t · BN_t(x), each sample with its own task's adapter.
          const bns = adapters.map((a) => a.bn);
          const normalised = taskBatchNormalize(bns, TORCH_BATCH_NORM, output, taskIds, context.training);
          const kernels = gatherByTask(tf.stack(adapters.map((a) => a.kernel)), taskIds);
          return tf.add(output, projectPerSample(normalised, kernels));
        }) as tf.Tensor2D,
    );
  }

  parameters(): readonly ParameterEntry[] {
    return [...owned(this.trunk.variables(), 'shared'), ...this.tasks.entries()];
  }

  report() {
    const passes = galleryPassesAfter(this.trunk.description, this.adapters.keys(), this.taskCount);
    return parameterReport(this.parameters(), this.taskCount, passes);
  }

  dispose(): void {
    this.trunk.dispose();
    this.tasks.dispose();
  }
}

export const adaptersPlugin = definePlugin({
  kind: 'method',
  name: 'adapters',
  version: '0.1.0',
  description:
    'Shared trunk with per-task series residual adapters x + W_t·BN_t(x) (1×1 conv) after each stage',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) => new AdaptersModel(o, context),
});
