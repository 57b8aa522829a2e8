/**
 * shared (hard parameter sharing): one trunk and one embedding for every task. With `heads: true` each
 * task adds a linear D×D head on the embedding, initialised to the identity with zero bias so that
 * training starts from plain hard sharing.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type {
  MethodCreateContext,
  MtlModel,
  ParameterEntry,
  TaskDependentFromFeatures,
} from '../../src/kinds/method.js';
import * as tf from '../../src/tf.js';
import {
  assertTaskIds,
  gatherByTask,
  initializers,
  owned,
  parameterReport,
  perTaskVariables,
  runStages,
  stackPerTask,
  VariableStore,
} from 'mtlzoo/nn';

const options = z.strictObject({
  /** Per-task linear heads on the shared embedding. */
  heads: z.boolean().default(false),
});

export type SharedOptions = z.output<typeof options>;

class SharedModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  private readonly heads: { kernels: ParameterEntry[]; biases: ParameterEntry[] } | undefined;
  /** The whole trunk is shared; only the optional heads depend on the task. */
  readonly taskDependence: TaskDependentFromFeatures;

  constructor(o: SharedOptions, context: MethodCreateContext) {
    const d = context.backbone.description.embeddingDim;
    this.taskCount = context.taskCount;
    this.embeddingDim = d;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root('heads/', context.seed);
    this.heads = o.heads
      ? {
          kernels: perTaskVariables(this.store.scope('kernel'), this.taskCount, [d, d], () =>
            initializers.identity(),
          ),
          biases: perTaskVariables(this.store.scope('bias'), this.taskCount, [d], () =>
            initializers.constant(0),
          ),
        }
      : undefined;
    this.taskDependence = {
      from: 'features',
      sharedStages: context.backbone.description.stages.length,
      shared: (images, forward) => runStages(this.trunk, images, forward),
      complete: (embedding, taskIds) => this.project(embedding as tf.Tensor2D, taskIds),
    };
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(() => this.project(runStages(this.trunk, images, context) as tf.Tensor2D, taskIds));
  }

  /** The task's head on the shared embedding (the embedding itself without heads). */
  private project(embedding: tf.Tensor2D, taskIds: Int32Array): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, embedding.shape[0]);
    return tf.tidy(() => {
      if (!this.heads) return tf.clone(embedding);
      const [n, d] = embedding.shape;
      const kernels = gatherByTask(stackPerTask(this.heads.kernels), taskIds) as tf.Tensor3D;
      const projected = tf.reshape(tf.matMul(tf.reshape(embedding, [n, 1, d]), kernels), [n, d]);
      return tf.add(projected, gatherByTask(stackPerTask(this.heads.biases), taskIds)) as tf.Tensor2D;
    });
  }

  parameters(): readonly ParameterEntry[] {
    const heads = this.heads ? [...this.heads.kernels, ...this.heads.biases] : [];
    return [...owned(this.trunk.variables(), 'shared'), ...heads];
  }

  report() {
    return parameterReport(this.parameters(), this.taskCount, 1);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
  }
}

export const sharedPlugin = definePlugin({
  kind: 'method',
  name: 'shared',
  version: '0.1.0',
  description:
    'Hard parameter sharing: one trunk and embedding for all tasks (optional per-task linear heads)',
  options,
  create: (o, context) => new SharedModel(o, context),
});
