/**
 * csn (Conditional Similarity Networks, Veit et al., CVPR 2017): one trunk; the embedding of a sample of
 * task t is masked element-wise by m_t. `fixed`: disjoint blocks of floor(D/T) dimensions, one per task
 * (not trained, rebuilt from D and T, so not stored). `learned`: m_t = ReLU(v_t) with v_t trainable,
 * initialised from N(0.9, 0.7) as in the CSN reference code. One trunk pass serves every task.
 *
 * The defaults train as the released code (andreasveit/conditional-similarity-networks) does: the masked
 * embedding is compared unnormalised (`normalize: none`), and the loss adds
 * `embeddingNormWeight · mean_role ‖E_role‖_F / √N + maskL1Weight · mean_role ‖M_role‖_1 / N` over the N
 * triplets of the batch, where E_role (N × D) holds the unmasked embeddings of the anchors, positives or
 * negatives and M_role their masks (main.py's embed_loss 5e-3 and mask_loss 5e-4; csn.py's
 * `embedded_x.norm(2)` and `mask.norm(1)` are norms of the whole batch matrix). `normalize: after-mask` with
 * both weights 0 is what csn 0.1.0 (the plugin's version before this one) did.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type {
  MethodCreateContext,
  MtlModel,
  ParameterEntry,
  PenalisedEmbedding,
  TaskDependentFromFeatures,
} from '../../src/kinds/method.js';
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

/** The released code's defaults (main.py: --embed_loss, --mask_loss). */
export const CSN_EMBEDDING_NORM_WEIGHT = 5e-3;
export const CSN_MASK_L1_WEIGHT = 5e-4;

const options = z.strictObject({
  masks: z.enum(['learned', 'fixed']).default('learned'),
  /** `none`: masked embeddings are compared as they are (released); `after-mask`: L2-normalised. */
  normalize: z.enum(['none', 'after-mask']).default('none'),
  embeddingNormWeight: z.number().nonnegative().default(CSN_EMBEDDING_NORM_WEIGHT),
  maskL1Weight: z.number().nonnegative().default(CSN_MASK_L1_WEIGHT),
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
  readonly embeddingNorm: 'l2' | 'none';
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  private readonly learned: ParameterEntry[];
  private readonly fixed: tf.Tensor2D | undefined;
  /** The whole trunk is shared; only the mask on the embedding depends on the task. */
  readonly taskDependence: TaskDependentFromFeatures;

  constructor(
    private readonly options: CsnOptions,
    context: MethodCreateContext,
  ) {
    const d = context.backbone.description.embeddingDim;
    this.embeddingNorm = options.normalize === 'none' ? 'none' : 'l2';
    this.taskCount = context.taskCount;
    this.embeddingDim = d;
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root('csn/', context.seed);
    this.learned =
      options.masks === 'learned'
        ? perTaskVariables(
            this.store.scope('mask'),
            this.taskCount,
            [d],
            () => initializers.normal(0.9, 0.7),
            'relu',
          )
        : [];
    if (options.masks === 'fixed' && d < this.taskCount) {
      // The check context knows no task count, so this surfaces at creation.
      throw new MtlzooError(
        'PLUGIN_INVALID',
        `csn fixed masks need embeddingDim >= tasks, got ${d} < ${this.taskCount}`,
      );
    }
    this.fixed = options.masks === 'fixed' ? fixedMasks(this.taskCount, d) : undefined;
    this.taskDependence = {
      from: 'features',
      sharedStages: context.backbone.description.stages.length,
      shared: (images, forward) => runStages(this.trunk, images, forward),
      complete: (embedding, taskIds) => {
        assertTaskIds(taskIds, this.taskCount, embedding.shape[0]!);
        return tf.tidy(() => tf.mul(embedding, this.masksOf(taskIds)) as tf.Tensor2D);
      },
    };
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => this.forward(images, taskIds, context).masked);
  }

  /** Each sample's mask `[N, D]`: its task's row of the (fixed, or ReLU of the learned) mask table. */
  private masksOf(taskIds: Int32Array): tf.Tensor2D {
    return gatherByTask(this.fixed ?? tf.relu(stackPerTask(this.learned)), taskIds) as tf.Tensor2D;
  }

  /** The unmasked embeddings, each sample's mask and their product. */
  private forward(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext) {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    const embedding = runStages(this.trunk, images, context) as tf.Tensor2D;
    const masks = this.masksOf(taskIds);
    return { embedding, masks, masked: tf.mul(embedding, masks) as tf.Tensor2D };
  }

  embedWithPenalty(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): PenalisedEmbedding {
    const { embedding, masks, masked } = this.forward(images, taskIds, context);
    const { embeddingNormWeight, maskL1Weight } = this.options;
    return {
      embeddings: masked,
      penalty: ({ anchor, positive, negative }) =>
        tf.tidy(() => {
          const n = anchor.length;
          const roles = [anchor, negative, positive].map((rows) => tf.tensor1d(rows, 'int32'));
          // Per role, the norm of the whole N × D batch matrix, as csn.py's `.norm(p)` of a batch.
          const meanOverRoles = (perRole: (rows: tf.Tensor1D) => tf.Scalar) =>
            tf.div(tf.addN(roles.map(perRole)), roles.length);
          const embedNorm = meanOverRoles((rows) => tf.norm(tf.gather(embedding, rows)) as tf.Scalar);
          const maskNorm = meanOverRoles((rows) => tf.sum(tf.abs(tf.gather(masks, rows))) as tf.Scalar);
          return tf.addN([
            tf.mul(tf.div(embedNorm, Math.sqrt(n)), embeddingNormWeight),
            tf.mul(tf.div(maskNorm, n), maskL1Weight),
          ]) as tf.Scalar;
        }),
    };
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
  version: '0.2.0',
  description:
    'Conditional similarity network: one trunk, per-task masks on the embedding (learned or fixed), trained as released',
  options,
  create: (o, context) => new CsnModel(o, context),
});
