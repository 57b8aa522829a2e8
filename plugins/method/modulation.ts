/**
 * modulation (Zhao et al., ECCV 2018): one shared trunk; after each chosen stage, the output of a sample of
 * task t is scaled channel-wise by ReLU(M[t]), broadcast over space, where M is a trainable `[T, C]`
 * table initialised to 1 (no bias, no regulariser), as in the authors' released code. Default stages: the
 * last two conv stages and the embedding (before L2 normalisation), 512 floats per task on facenet-small.
 *
 * `form: matrix` replaces the vector with a per-task C×C projection (a per-task 1×1 conv) initialised to
 * the identity. It is linear, without the ReLU: at the identity it equals the vector form at ones.
 *
 * Samples of different tasks in one batch are routed by gathering each sample's row of the table by its
 * task id; no per-sample network calls.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneDescription, BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type { MethodCreateContext, MtlModel, ParameterEntry } from '../../src/kinds/method.js';
import * as tf from '../../src/tf.js';
import {
  assertTaskIds,
  checkStages,
  convStages,
  gatherByTask,
  initializers,
  owned,
  parameterReport,
  perTaskVariables,
  resolveStages,
  runStages,
  stackPerTask,
  stageChannels,
  stagesOption,
  VariableStore,
} from 'mtlzoo/nn';

const options = z.strictObject({
  form: z.enum(['vector', 'matrix']).default('vector'),
  /** Stages whose outputs are modulated; default: the last two conv stages and `embedding`. */
  stages: stagesOption,
});

export type ModulationOptions = z.output<typeof options>;

/** The authors' placement: the last two conv stages and the embedding. */
export function defaultModulatedStages(backbone: BackboneDescription): string[] {
  return [...convStages(backbone).slice(-2), 'embedding'];
}

/** Scales `x` `[N, ..., C]` channel-wise by `factors` `[N, C]`. */
function scaleChannels(x: tf.Tensor, factors: tf.Tensor): tf.Tensor {
  const [n, c] = factors.shape as [number, number];
  const broadcastShape = [n, ...new Array<number>(x.rank - 2).fill(1), c];
  return tf.mul(x, tf.reshape(factors, broadcastShape));
}

/** Projects `x` `[N, ..., C]` by per-sample matrices `[N, C, C]`: a 1×1 conv with a per-sample kernel. */
function projectChannels(x: tf.Tensor, matrices: tf.Tensor): tf.Tensor {
  const n = x.shape[0]!;
  const c = x.shape[x.rank - 1]!;
  const rows = tf.reshape(x, [n, -1, c]) as tf.Tensor3D;
  return tf.reshape(tf.matMul(rows, matrices as tf.Tensor3D), x.shape);
}

interface ModulatedStage {
  readonly index: number;
  /** One variable per task: `[C]` (vector form) or `[C, C]` (matrix form). */
  readonly perTask: readonly ParameterEntry[];
}

class ModulationModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  private readonly modulated: Map<number, ModulatedStage>;

  constructor(
    private readonly options: ModulationOptions,
    context: MethodCreateContext,
  ) {
    const description = context.backbone.description;
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root('modulation/', context.seed);
    const indices = resolveStages('modulation', options.stages, description, defaultModulatedStages);
    this.modulated = new Map(
      indices.map((index) => {
        const c = stageChannels(description, index);
        const scope = this.store.scope(description.stages[index]!.name);
        const perTask =
          options.form === 'vector'
            ? perTaskVariables(scope, this.taskCount, [c], () => initializers.constant(1), 'relu')
            : perTaskVariables(scope, this.taskCount, [c, c], () => initializers.identity());
        return [index, { index, perTask }];
      }),
    );
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(
      () =>
        runStages(this.trunk, images, context, (index, output) => {
          const stage = this.modulated.get(index);
          return stage ? this.modulate(output, stage, taskIds) : output;
        }) as tf.Tensor2D,
    );
  }

  private modulate(x: tf.Tensor, stage: ModulatedStage, taskIds: Int32Array): tf.Tensor {
    const table = stackPerTask(stage.perTask);
    return this.options.form === 'vector'
      ? scaleChannels(x, gatherByTask(tf.relu(table), taskIds))
      : projectChannels(x, gatherByTask(table, taskIds));
  }

  parameters(): readonly ParameterEntry[] {
    const masks = [...this.modulated.values()].flatMap((stage) => stage.perTask);
    return [...owned(this.trunk.variables(), 'shared'), ...masks];
  }

  report() {
    // Modulated intermediate features depend on the task, so a gallery image needs one pass per task;
    // modulating only the embedding reuses one trunk pass.
    const onlyEmbedding = [...this.modulated.keys()].every(
      (i) => this.trunk.description.stages[i]!.name === 'embedding',
    );
    return parameterReport(this.parameters(), this.taskCount, onlyEmbedding ? 1 : this.taskCount);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
  }
}

export const modulationPlugin = definePlugin({
  kind: 'method',
  name: 'modulation',
  version: '0.1.0',
  description:
    'Shared trunk with per-task channel modulation ReLU(M[t]) (vector) or C×C projections (matrix)',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) => new ModulationModel(o, context),
});
