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
import * as tf from '../../src/tf.js';
import {
  checkStages,
  gatherByTask,
  initializers,
  perSampleChannels,
  perTaskVariables,
  stackPerTask,
  stagesOption,
} from 'mtlzoo/nn';
import { defaultModulatedStages } from './modulation.js';
import { StagewiseModel } from './stagewise.js';

const options = z.strictObject({
  /** Stages whose outputs are transformed; default: the last two conv stages and `embedding`. */
  stages: stagesOption,
  /** `linear`: γ as trained (FiLM); `relu`: ReLU(γ), the modulation module's scale. */
  scale: z.enum(['linear', 'relu']).default('linear'),
});

export type FilmOptions = z.output<typeof options>;

export const filmPlugin = definePlugin({
  kind: 'method',
  name: 'film',
  version: '0.1.0',
  description:
    'Shared trunk with per-task channel scale and shift γ_t ⊙ x + β_t (FiLM with the task as condition)',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) =>
    new StagewiseModel(
      {
        method: 'film',
        stages: o.stages,
        defaultStages: defaultModulatedStages,
        operation: ({ store, channels: c }) => {
          const T = context.taskCount;
          const relu = o.scale === 'relu';
          const gamma = perTaskVariables(
            store.scope('gamma'),
            T,
            [c],
            () => initializers.constant(1),
            relu ? 'relu' : undefined,
          );
          const beta = perTaskVariables(store.scope('beta'), T, [c], () => initializers.constant(0));
          return {
            parameters: [...gamma, ...beta],
            apply: (x, taskIds) => {
              const gammas = stackPerTask(gamma);
              const scale = gatherByTask(relu ? tf.relu(gammas) : gammas, taskIds);
              const shift = gatherByTask(stackPerTask(beta), taskIds);
              return tf.add(tf.mul(x, perSampleChannels(scale, x.rank)), perSampleChannels(shift, x.rank));
            },
          };
        },
      },
      context,
    ),
});
