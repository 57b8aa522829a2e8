/**
 * mmoe (Ma et al., "Modeling Task Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
 * KDD 2018): the backbone's last stages are replaced by E experts, each a full copy of those stages ending
 * in its own embedding; task t mixes the experts' embeddings with its own gate,
 *
 *   y_t(x) = Σ_e softmax(W_t · x)_e · f_e(x),
 *
 * where x is the output of the shared stages before the experts (the input both experts and gates read, as
 * in the paper) and W_t an E × d matrix without bias (the paper's gate; LibMTL adds a bias and gates on the
 * raw image). `gateInput: flatten` gives the gate every value of x (d = h·w·C); `pool` its global average
 * over positions (d = C), far fewer gate parameters when x is large. `from` names the first stage the
 * experts copy (default: the last conv stage, so each expert is that stage and the embedding).
 *
 * Experts and shared stages are trained by every task; only the gates are task-specific. The experts'
 * outputs do not depend on the task, so one pass over a gallery image yields its embedding under every
 * task (each a different mix): one gallery pass.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneDescription, BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type { MethodCreateContext, MtlModel, ParameterEntry } from '../../src/kinds/method.js';
import type { OptionIssue } from '../../src/plugin/types.js';
import { MtlzooError } from '../../src/errors.js';
import * as tf from '../../src/tf.js';
import {
  assertTaskIds,
  convStages,
  initializers,
  owned,
  parameterReport,
  perTaskVariables,
  runStages,
  stageVariables,
  VariableStore,
} from 'mtlzoo/nn';

const options = z.strictObject({
  /** Number of experts. */
  experts: z.number().int().min(2).default(4),
  /** First stage the experts copy; default: the last conv stage. */
  from: z.string().optional(),
  /** What the gates read: every value of the shared output (`flatten`) or its average per channel. */
  gateInput: z.enum(['flatten', 'pool']).default('flatten'),
});

export type MmoeOptions = z.output<typeof options>;

/** Index of the first expert stage, or an issue. */
function expertStart(from: string | undefined, backbone: BackboneDescription): number | OptionIssue {
  const name = from ?? convStages(backbone).at(-1) ?? 'embedding';
  const index = backbone.stages.findIndex((s) => s.name === name);
  if (index < 0) {
    const names = backbone.stages.map((s) => s.name).join(', ');
    return {
      path: ['from'],
      message: `expected a stage of backbone ${backbone.name} (${names}), got "${name}"`,
    };
  }
  return index;
}

function checkOptions(o: MmoeOptions, backbone?: BackboneDescription): OptionIssue[] {
  if (!backbone) return [];
  const start = expertStart(o.from, backbone);
  return typeof start === 'number' ? [] : [start];
}

class MmoeModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly bottom: BackboneNet;
  private readonly experts: BackboneNet[];
  private readonly start: number;
  private readonly gates: ParameterEntry[];
  /** The variables of the stages the shared part and the experts run. */
  private readonly used: readonly ParameterEntry[];
  private readonly store: VariableStore;

  constructor(
    private readonly options: MmoeOptions,
    context: MethodCreateContext,
  ) {
    const description = context.backbone.description;
    const start = expertStart(options.from, description);
    if (typeof start !== 'number') throw new MtlzooError('PLUGIN_INVALID', `method mmoe: ${start.message}`);
    this.start = start;
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    this.bottom = context.backbone.instantiate('trunk/', context.seed);
    this.experts = Array.from({ length: options.experts }, (_, e) =>
      context.backbone.instantiate(`expert${e}/`, context.seed),
    );
    const input = start === 0 ? description.inputShape : description.stages[start - 1]!.outputShape;
    const gateFeatures =
      options.gateInput === 'pool' ? input[input.length - 1]! : input.reduce((a, b) => a * b, 1);
    const names = description.stages.map((s) => s.name);
    this.used = [
      ...owned(stageVariables(this.bottom, 'trunk/', names.slice(0, start)), 'shared'),
      ...this.experts.flatMap((expert, e) =>
        owned(stageVariables(expert, `expert${e}/`, names.slice(start)), 'shared'),
      ),
    ];
    this.store = VariableStore.root('mmoe/', context.seed);
    // PyTorch's default linear initialisation, as LibMTL's gates have.
    this.gates = perTaskVariables(
      this.store.scope('gate'),
      this.taskCount,
      [gateFeatures, options.experts],
      () => initializers.torchLinear(),
    );
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(() => {
      const n = images.shape[0];
      const experts = this.options.experts;
      const x = runStages(this.bottom, images, context, undefined, 0, this.start);
      // [N, E, D]: every expert's embedding of every sample.
      const outputs = tf.stack(
        this.experts.map((expert) => runStages(expert, x, context, undefined, this.start)),
        1,
      ) as tf.Tensor3D;
      const gateInput = (
        this.options.gateInput === 'pool' && x.rank === 4 ? tf.mean(x, [1, 2]) : tf.reshape(x, [n, -1])
      ) as tf.Tensor2D;
      // Every task's logits at once, [N, T·E] from the gates laid side by side as [d, T·E], then each
      // sample's own task's row.
      const gates = tf.stack(this.gates.map((g) => g.variable)); // [T, d, E]
      const [, d] = gates.shape as [number, number, number];
      const sideBySide = tf.reshape(tf.transpose(gates, [1, 0, 2]), [d, this.taskCount * experts]);
      const all = tf.reshape(tf.matMul(gateInput, sideBySide), [n * this.taskCount, experts]);
      const rows = Int32Array.from(taskIds, (task, i) => i * this.taskCount + task);
      const weights = tf.softmax(tf.gather(all, tf.tensor1d(rows, 'int32')));
      // Σ_e weights[e] · outputs[e] as a batched product [N, 1, E] × [N, E, D].
      const mixed = tf.matMul(tf.expandDims(weights, 1) as tf.Tensor3D, outputs);
      return tf.reshape(mixed, [n, this.embeddingDim]) as tf.Tensor2D;
    });
  }

  parameters(): readonly ParameterEntry[] {
    return [...this.used, ...this.gates];
  }

  report() {
    return parameterReport(this.parameters(), this.taskCount, 1);
  }

  dispose(): void {
    this.bottom.dispose();
    for (const expert of this.experts) expert.dispose();
    this.store.dispose();
  }
}

export const mmoePlugin = definePlugin({
  kind: 'method',
  name: 'mmoe',
  version: '0.1.0',
  description:
    "Experts (copies of the backbone's last stages) mixed per task by softmax gates (Multi-gate MoE)",
  options,
  check: (o, { backbone }) => checkOptions(o, backbone),
  create: (o, context) => new MmoeModel(o, context),
});
