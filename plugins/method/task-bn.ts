/**
 * task-bn: shared convolutions and fully connected layers, per-task BatchNorm. Every BatchNorm layer of
 * the backbone gets one copy per task (γ if the backbone's layer has one, β and moving statistics), and a
 * task's samples are normalised with their own task's statistics and affine parameters (Bilen & Vedaldi,
 * "Universal representations", 2017; Mudrakarta et al., "K for the price of 1", ICLR 2019: task-specific
 * normalisation as the cheapest strong adaptation of a shared network). The backbone's own BatchNorm
 * variables are replaced, so they are neither trained nor saved.
 *
 * The layers are found by running the backbone once (on a blank image, at creation) with
 * `ForwardContext.batchNorm` set: every layer built with `nn`'s BatchNorm reports itself. A backbone
 * without such layers is refused. Every intermediate feature depends on the task: one gallery pass per task.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneNet, BatchNormLayer, ForwardContext } from '../../src/kinds/backbone.js';
import type { MethodCreateContext, MtlModel, ParameterEntry } from '../../src/kinds/method.js';
import { MtlzooError } from '../../src/errors.js';
import * as tf from '../../src/tf.js';
import {
  assertTaskIds,
  type BatchNormVariables,
  batchNormVariables,
  owned,
  parameterReport,
  perTaskModules,
  runStages,
  taskBatchNormalize,
  VariableStore,
} from 'mtlzoo/nn';

const options = z.strictObject({});

/** The BatchNorm layers a forward pass of `net` goes through, in order. */
function batchNormLayers(net: BackboneNet): BatchNormLayer[] {
  const layers: BatchNormLayer[] = [];
  tf.tidy(() => {
    const blank = tf.zeros([1, ...net.description.inputShape]);
    runStages(net, blank, {
      training: false,
      batchNorm: (layer, x) => {
        if (!layers.includes(layer)) layers.push(layer);
        return x;
      },
    });
  });
  return layers;
}

class TaskBnModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  /** Each backbone BatchNorm layer's per-task copies. */
  private readonly copies: Map<BatchNormLayer, readonly BatchNormVariables[]>;
  private readonly shared: ParameterEntry[];
  private readonly perTask: ParameterEntry[] = [];

  constructor(context: MethodCreateContext) {
    const description = context.backbone.description;
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root('task-bn/', context.seed);
    const layers = batchNormLayers(this.trunk);
    if (layers.length === 0) {
      this.dispose();
      throw new MtlzooError(
        'PLUGIN_INVALID',
        `task-bn: backbone ${description.name} has no BatchNorm layer built with mtlzoo's nn BatchNorm, so there is nothing to make per task`,
      );
    }
    const variables = this.trunk.variables();
    const replaced = new Set<tf.Variable>();
    this.copies = new Map(
      layers.map((layer) => {
        for (const v of [layer.gamma, layer.beta, layer.movingMean, layer.movingVariance])
          if (v) replaced.add(v);
        // Named after the backbone's layer: trunk/conv1/bn/moving_mean → task-bn/conv1/bn/task<t>/…
        const name = variables.find((v) => v.variable === layer.movingMean)!.name;
        const scope = name.slice('trunk/'.length, -'moving_mean'.length - 1);
        const channels = layer.movingMean.shape[0]!;
        const { modules, parameters } = perTaskModules(this.store.scope(scope), this.taskCount, (own) =>
          batchNormVariables(own, channels, layer.spec.scale),
        );
        this.perTask.push(...parameters);
        return [layer, modules];
      }),
    );
    this.shared = owned(
      variables.filter((v) => !replaced.has(v.variable)),
      'shared',
    );
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    const perTaskBatchNorm = (layer: BatchNormLayer, x: tf.Tensor): tf.Tensor => {
      const copies = this.copies.get(layer);
      if (!copies) throw new Error('task-bn: a BatchNorm layer appeared that the creation pass did not see');
      return taskBatchNormalize(copies, layer.spec, x, taskIds, context.training);
    };
    return tf.tidy(
      () => runStages(this.trunk, images, { ...context, batchNorm: perTaskBatchNorm }) as tf.Tensor2D,
    );
  }

  parameters(): readonly ParameterEntry[] {
    return [...this.shared, ...this.perTask];
  }

  report() {
    return parameterReport(this.parameters(), this.taskCount, this.taskCount);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
  }
}

export const taskBnPlugin = definePlugin({
  kind: 'method',
  name: 'task-bn',
  version: '0.1.0',
  description: 'Shared convolutions and linear layers, per-task BatchNorm (statistics, γ and β)',
  options,
  create: (_o, context) => new TaskBnModel(context),
});
