/**
 * film (Perez et al., "FiLM: Visual Reasoning with a General Conditioning Layer", AAAI 2018): one shared
 * trunk; after each chosen stage, the output x of a sample of task t becomes γ_t ⊙ x + β_t, channel-wise
 * and broadcast over space. FiLM generates γ and β from the conditioning input; with the task as the
 * condition (a one-hot vector) the generator is a per-task table, which is what is trained here: γ_t
 * initialised to 1 and β_t to 0, so training starts from hard sharing.
 *
 * This is the modulation module plus a per-task shift. `scale: relu` applies ReLU(γ_t), exactly the
 * modulation module's vector form, so `film { scale: relu }` against `modulation` isolates what the shift
 * adds; `scale: linear` (the default) leaves γ unconstrained as FiLM does. Default stages are modulation's:
 * the last two conv stages and the embedding.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type { MethodCreateContext, MtlModel, ParameterEntry } from '../../src/kinds/method.js';
import * as tf from '../../src/tf.js';
import {
  VariableStore,
  assertTaskIds,
  galleryPassesAfter,
  gatherByTask,
  initializers,
  perSampleChannels,
  runStages,
} from '../../src/nn/index.js';
import { defaultModulatedStages } from './modulation.js';
import {
  checkStages,
  owned,
  parameterReport,
  perTaskVariables,
  resolveStages,
  stackPerTask,
  stageChannels,
  stagesOption,
} from './support.js';

const options = z.strictObject({
  /** Stages whose outputs are transformed; default: the last two conv stages and `embedding`. */
  stages: stagesOption,
  /** `linear`: γ as trained (FiLM); `relu`: ReLU(γ), the modulation module's scale. */
  scale: z.enum(['linear', 'relu']).default('linear'),
});

export type FilmOptions = z.output<typeof options>;

interface FilmStage {
  readonly gamma: readonly ParameterEntry[];
  readonly beta: readonly ParameterEntry[];
}

class FilmModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  private readonly stages: Map<number, FilmStage>;

  constructor(
    private readonly options: FilmOptions,
    context: MethodCreateContext,
  ) {
    const description = context.backbone.description;
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root('film/', context.seed);
    const indices = resolveStages('film', options.stages, description, defaultModulatedStages);
    this.stages = new Map(
      indices.map((index) => {
        const c = stageChannels(description, index);
        const scope = this.store.scope(description.stages[index]!.name);
        const gamma = perTaskVariables(
          scope.scope('gamma'),
          this.taskCount,
          [c],
          () => initializers.constant(1),
          options.scale === 'relu' ? 'relu' : undefined,
        );
        const beta = perTaskVariables(scope.scope('beta'), this.taskCount, [c], () =>
          initializers.constant(0),
        );
        return [index, { gamma, beta }];
      }),
    );
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(
      () =>
        runStages(this.trunk, images, context, (index, output) => {
          const stage = this.stages.get(index);
          return stage ? this.transform(output, stage, taskIds) : output;
        }) as tf.Tensor2D,
    );
  }

  private transform(x: tf.Tensor, stage: FilmStage, taskIds: Int32Array): tf.Tensor {
    const gammas = stackPerTask(stage.gamma);
    const gamma = gatherByTask(this.options.scale === 'relu' ? tf.relu(gammas) : gammas, taskIds);
    const beta = gatherByTask(stackPerTask(stage.beta), taskIds);
    return tf.add(tf.mul(x, perSampleChannels(gamma, x.rank)), perSampleChannels(beta, x.rank));
  }

  parameters(): readonly ParameterEntry[] {
    const film = [...this.stages.values()].flatMap((stage) => [...stage.gamma, ...stage.beta]);
    return [...owned(this.trunk.variables(), 'shared'), ...film];
  }

  report() {
    const passes = galleryPassesAfter(this.trunk.description, this.stages.keys(), this.taskCount);
    return parameterReport(this.parameters(), this.taskCount, passes);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
  }
}

export const filmPlugin = definePlugin({
  kind: 'method',
  name: 'film',
  version: '0.1.0',
  description:
    'Shared trunk with per-task channel scale and shift γ_t ⊙ x + β_t (FiLM with the task as condition)',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) => new FilmModel(o, context),
});
