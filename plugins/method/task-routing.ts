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
import type { ParameterEntry } from '../../src/kinds/method.js';
import * as tf from '../../src/tf.js';
import {
  checkStages,
  convStages,
  gatherByTask,
  type Initializer,
  perSampleChannels,
  stackPerTask,
  stagesOption,
} from 'mtlzoo/nn';
import { StagewiseModel } from './stagewise.js';

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

export const taskRoutingPlugin = definePlugin({
  kind: 'method',
  name: 'task-routing',
  version: '0.1.0',
  description: 'Shared trunk with fixed random per-task channel masks (σ of the channels off per task)',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) =>
    new StagewiseModel(
      {
        method: 'task-routing',
        stages: o.stages,
        defaultStages: convStages,
        operation: ({ store, channels }) => {
          // State, not trained: `task-routing/<stage>/task<t>`, owned by its task.
          const masks: ParameterEntry[] = Array.from({ length: context.taskCount }, (_, task) => ({
            name: `${store.prefix}task${task}`,
            variable: store.add(`task${task}`, [channels], routingMask(o.sigma), { trainable: false }),
            trainable: false,
            owner: { task },
          }));
          return {
            parameters: masks,
            apply: (x, taskIds) =>
              tf.mul(x, perSampleChannels(gatherByTask(stackPerTask(masks), taskIds), x.rank)),
          };
        },
      },
      context,
    ),
});
