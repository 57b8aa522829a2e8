/**
 * csn (Conditional Similarity Networks, Veit et al., CVPR 2017): one trunk; the embedding of a sample of
 * task t is masked element-wise by m_t. `fixed`: disjoint blocks of floor(D/T) dimensions, one per task
 * (not trained, rebuilt from D and T, so not stored). `learned`: m_t = ReLU(v_t) with v_t trainable,
 * initialised from N(0.9, 0.7) as in the CSN reference code. One trunk pass serves every task.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type { MethodCreateContext, MtlModel, ParameterEntry } from '../../src/kinds/method.js';
import { MtlzooError } from '../../src/errors.js';
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
  masks: z.enum(['learned', 'fixed']).default('learned'),
});

export type CsnOptions = z.output<typeof options>;

/** `[T, D]`: row t is 1 on dimensions [t·b, (t+1)·b) with b = floor(D/T), 0 elsewhere. */
export function fixedMasks(taskCount: number, dim: number): tf.Tensor2D {
  const block = Math.floor(dim / taskCount);
  const values = new Float32Array(taskCount * dim);
  for (let t = 0; t < taskCount; t++) values.fill(1, t * dim + t * block, t * dim + (t + 1) * block);
  return tf.tensor2d(values, [taskCount, dim]);
}

class CsnModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  private readonly learned: ParameterEntry[];
  private readonly fixed: tf.Tensor2D | undefined;

  constructor(o: CsnOptions, context: MethodCreateContext) {
    const d = context.backbone.description.embeddingDim;
    this.taskCount = context.taskCount;
    this.embeddingDim = d;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root('csn/', context.seed);
    this.learned =
      o.masks === 'learned'
        ? perTaskVariables(
            this.store.scope('mask'),
            this.taskCount,
            [d],
            () => initializers.normal(0.9, 0.7),
            'relu',
          )
        : [];
    if (o.masks === 'fixed' && d < this.taskCount) {
      // The check context knows no task count, so this surfaces at creation.
      throw new MtlzooError(
        'PLUGIN_INVALID',
        `csn fixed masks need embeddingDim >= tasks, got ${d} < ${this.taskCount}`,
      );
    }
    this.fixed = o.masks === 'fixed' ? fixedMasks(this.taskCount, d) : undefined;
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(() => {
      const embedding = runStages(this.trunk, images, context);
      const table = this.fixed ?? tf.relu(stackPerTask(this.learned));
      return tf.mul(embedding, gatherByTask(table, taskIds)) as tf.Tensor2D;
    });
  }

  parameters(): readonly ParameterEntry[] {
    return [...owned(this.trunk.variables(), 'shared'), ...this.learned];
  }

  report() {
    return parameterReport(this.parameters(), this.taskCount, 1);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
    this.fixed?.dispose();
  }
}

export const csnPlugin = definePlugin({
  kind: 'method',
  name: 'csn',
  version: '0.1.0',
  description:
    'Conditional similarity network: one trunk, per-task masks on the embedding (learned or fixed)',
  options,
  create: (o, context) => new CsnModel(o, context),
});
