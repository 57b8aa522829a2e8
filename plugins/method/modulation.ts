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
import type { BackboneDescription } from '../../src/kinds/backbone.js';
import * as tf from '../../src/tf.js';
import {
  checkStages,
  convStages,
  gatherByTask,
  initializers,
  perSampleChannels,
  perTaskVariables,
  projectPerSample,
  stackPerTask,
  stagesOption,
} from 'mtlzoo/nn';
import { StagewiseModel } from './stagewise.js';

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

export const modulationPlugin = definePlugin({
  kind: 'method',
  name: 'modulation',
  version: '0.1.0',
  description:
    'Shared trunk with per-task channel modulation ReLU(M[t]) (vector) or C×C projections (matrix)',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) =>
    new StagewiseModel(
      {
        method: 'modulation',
        stages: o.stages,
        defaultStages: defaultModulatedStages,
        operation: ({ store, channels: c }) => {
          // One variable per task, `modulation/<stage>/task<t>`: `[C]` (vector form) or `[C, C]` (matrix).
          const perTask =
            o.form === 'vector'
              ? perTaskVariables(store, context.taskCount, [c], () => initializers.constant(1), 'relu')
              : perTaskVariables(store, context.taskCount, [c, c], () => initializers.identity());
          return {
            parameters: perTask,
            apply: (x, taskIds) => {
              const table = stackPerTask(perTask);
              return o.form === 'vector'
                ? tf.mul(x, perSampleChannels(gatherByTask(tf.relu(table), taskIds), x.rank))
                : projectPerSample(x, gatherByTask(table, taskIds));
            },
          };
        },
      },
      context,
    ),
});
