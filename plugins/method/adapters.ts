/**
 * adapters (Rebuffi et al., "Learning multiple visual domains with residual adapters", NeurIPS 2017): one
 * shared trunk; after each chosen stage the output x of a sample of task t passes through that task's
 * series residual adapter, x + W_t · BN_t(x), where W_t is a C×C 1×1 convolution and BN_t a BatchNorm with
 * its own statistics and affine parameters (the reference code's `series_adapters` module: BatchNorm → 1×1
 * conv, plus the input). W_t is drawn as the reference code draws every conv, N(0, 2/C) (He, fan-out), and
 * BatchNorm follows PyTorch's defaults (momentum 0.1, ε 1e-5, γ 1, β 0). The reference places an adapter
 * after every 3×3 convolution; here after every conv stage by default.
 *
 * Each sample uses its own task's adapter (BatchNorm statistics per task, in training too). A sample's
 * features depend on its task from the first adapter on: one gallery pass per task.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import * as tf from '../../src/tf.js';
import {
  batchNormVariables,
  checkStages,
  convStages,
  initializers,
  perTaskModules,
  projectByTask,
  stagesOption,
  taskBatchNormalize,
  TORCH_BATCH_NORM,
} from 'mtlzoo/nn';
import { StagewiseModel } from './stagewise.js';

const options = z.strictObject({
  /** Stages followed by an adapter; default: every stage but `embedding`. */
  stages: stagesOption,
});

export const adaptersPlugin = definePlugin({
  kind: 'method',
  name: 'adapters',
  version: '0.1.0',
  description:
    'Shared trunk with per-task series residual adapters x + W_t·BN_t(x) (1×1 conv) after each stage',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) =>
    new StagewiseModel(
      {
        method: 'adapters',
        stages: o.stages,
        defaultStages: convStages,
        operation: ({ store, channels: c }) => {
          // `adapters/<stage>/task<t>/{kernel, bn/…}`.
          const { modules, parameters } = perTaskModules(store, context.taskCount, (own) => ({
            bn: batchNormVariables(own.scope('bn'), c, TORCH_BATCH_NORM.scale),
            kernel: own.add('kernel', [c, c], initializers.heNormal('fanOut')),
          }));
          return {
            parameters,
            // x + W_t · BN_t(x), each sample with its own task's adapter.
            apply: (x, taskIds, { training }) => {
              const bns = modules.map((m) => m.bn);
              const normalised = taskBatchNormalize(bns, TORCH_BATCH_NORM, x, taskIds, training);
              const kernels = modules.map((m) => m.kernel);
              return tf.add(x, projectByTask(normalised, kernels, taskIds));
            },
          };
        },
      },
      context,
    ),
});
