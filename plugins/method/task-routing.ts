/**
 * task-routing (Strezoski et al., "Many Task Learning with Task Routing", ICCV 2019): one shared trunk;
 * after each chosen stage the output of a sample of task t is multiplied channel-wise by a fixed binary
 * mask m_t that switches off ⌊σ·C⌋ channels chosen at random for that task and stage. The masks are drawn
 * once from the run seed and never trained (the reference code, gstrezoski/TaskRouting, knocks out
 * `int(C·σ)` units per task with σ = 0.5 by default), so tasks share the remaining channels in random,
 * overlapping subsets without any task-specific parameter. The reference routes after every convolution;
 * here after every conv stage by default.
 *
 * The masks are stored as state variables owned by their task, so a checkpoint carries them.
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
  perSampleChannels,
  runStages,
  type Initializer,
} from '../../src/nn/index.js';
import {
  checkStages,
  convStages,
  owned,
  parameterReport,
  resolveStages,
  stackPerTask,
  stageChannels,
  stagesOption,
} from './support.js';

const options = z.strictObject({
  /** Stages whose outputs are routed; default: every stage but `embedding`. */
  stages: stagesOption,
  /** Fraction of each stage's channels switched off per task (the reference code's σ). */
  sigma: z.number().min(0).lt(1).default(0.5),
});

export type TaskRoutingOptions = z.output<typeof options>;

/** A `[C]` mask with ⌊σ·C⌋ zeros at random positions (drawn from the variable's own seeded stream). */
export function routingMask(sigma: number): Initializer {
  return (shape, rng) => {
    const channels = shape[0]!;
    const mask = new Float32Array(channels).fill(1);
    const order = rng.shuffle(Array.from({ length: channels }, (_, i) => i));
    for (const channel of order.slice(0, Math.floor(sigma * channels))) mask[channel] = 0;
    return mask;
  };
}

class TaskRoutingModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  /** Per routed stage, one state variable per task. */
  private readonly masks: Map<number, ParameterEntry[]>;

  constructor(o: TaskRoutingOptions, context: MethodCreateContext) {
    const description = context.backbone.description;
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root('task-routing/', context.seed);
    const indices = resolveStages('task-routing', o.stages, description, convStages);
    this.masks = new Map(
      indices.map((index) => {
        const scope = this.store.scope(description.stages[index]!.name);
        const c = stageChannels(description, index);
        const perTask = Array.from({ length: this.taskCount }, (_, task) => ({
          name: `${scope.prefix}task${task}`,
          variable: scope.add(`task${task}`, [c], routingMask(o.sigma), { trainable: false }),
          trainable: false,
          owner: { task },
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
          const masks = this.masks.get(index);
          if (!masks) return output;
          return tf.mul(output, perSampleChannels(gatherByTask(stackPerTask(masks), taskIds), output.rank));
        }) as tf.Tensor2D,
    );
  }

  parameters(): readonly ParameterEntry[] {
    return [...owned(this.trunk.variables(), 'shared'), ...[...this.masks.values()].flat()];
  }

  report() {
    const passes = galleryPassesAfter(this.trunk.description, this.masks.keys(), this.taskCount);
    return parameterReport(this.parameters(), this.taskCount, passes);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
  }
}

export const taskRoutingPlugin = definePlugin({
  kind: 'method',
  name: 'task-routing',
  version: '0.1.0',
  description: 'Shared trunk with fixed random per-task channel masks (σ of the channels off per task)',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) => new TaskRoutingModel(o, context),
});
