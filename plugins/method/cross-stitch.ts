/**
 * cross-stitch (Misra et al., CVPR 2016): one backbone column per task; after each chosen stage the T
 * outputs are mixed, x'_t = Σ_s α[t, s] ⊙ x_s, with one α per channel (default) or one scalar per task
 * pair. α starts at α_same = 0.9 and α_other = 0.1 as the paper recommends (some implementations start
 * at all ones; `init` sets either). Row t of every unit belongs to task t, as it only feeds column t.
 * Every sample runs through all columns; its embedding is its own task's column.
 */
import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type {
  MethodCreateContext,
  MtlModel,
  ParameterEntry,
  TaskDependence,
} from '../../src/kinds/method.js';
import * as tf from '../../src/tf.js';
import {
  assertTaskIds,
  checkStages,
  convStages,
  type Initializer,
  owned,
  parameterReport,
  perTaskVariables,
  resolveStages,
  selectPerSample,
  stageChannels,
  stagesOption,
  VariableStore,
} from 'mtlzoo/nn';

const options = z.strictObject({
  /** Stages followed by a mixing unit; default: every stage but the embedding. */
  stages: stagesOption,
  /** `channel`: α[t, s] is a vector over channels; `scalar`: one number per task pair. */
  granularity: z.enum(['channel', 'scalar']).default('channel'),
  init: z
    .strictObject({ same: z.number().default(0.9), other: z.number().default(0.1) })
    .default({ same: 0.9, other: 0.1 }),
});

export type CrossStitchOptions = z.output<typeof options>;

/** Row t of a mixing unit: `[T]` or `[T, C]`, `same` at s = t and `other` elsewhere. */
function mixingRow(task: number, init: CrossStitchOptions['init']): Initializer {
  return (shape) => {
    const perSource = shape.length > 1 ? shape[1]! : 1;
    const values = new Float32Array(shape[0]! * perSource);
    for (let s = 0; s < shape[0]!; s++)
      values.fill(s === task ? init.same : init.other, s * perSource, (s + 1) * perSource);
    return values;
  };
}

class CrossStitchModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  /** Every column starts from the input and is mixed with the others, so nothing is task-independent. */
  readonly taskDependence: TaskDependence = { from: 'input' };
  private readonly columns: BackboneNet[];
  private readonly store: VariableStore;
  /** Mixing units by stage index; entry t is row t. */
  private readonly units: Map<number, ParameterEntry[]>;

  constructor(o: CrossStitchOptions, context: MethodCreateContext) {
    const description = context.backbone.description;
    const T = context.taskCount;
    this.taskCount = T;
    this.embeddingDim = description.embeddingDim;
    this.columns = Array.from({ length: T }, (_, t) =>
      context.backbone.instantiate(`task${t}/`, context.seed),
    );
    this.store = VariableStore.root('cross-stitch/', context.seed);
    const indices = resolveStages('cross-stitch', o.stages, description, convStages);
    this.units = new Map(
      indices.map((index) => {
        const shape = o.granularity === 'channel' ? [T, stageChannels(description, index)] : [T];
        const scope = this.store.scope(description.stages[index]!.name);
        return [index, perTaskVariables(scope, T, shape, (task) => mixingRow(task, o.init))];
      }),
    );
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(() => {
      let xs: tf.Tensor[] = this.columns.map(() => images);
      for (let i = 0; i < this.columns[0]!.description.stages.length; i++) {
        xs = this.columns.map((column, t) => column.runStage(i, xs[t]!, context));
        const unit = this.units.get(i);
        if (unit) xs = this.mix(xs, unit);
      }
      return selectPerSample(tf.stack(xs), taskIds) as tf.Tensor2D;
    });
  }

  private mix(xs: tf.Tensor[], rows: readonly ParameterEntry[]): tf.Tensor[] {
    return rows.map((row) => tf.addN(xs.map((x, s) => tf.mul(x, tf.gather(row.variable, s)))));
  }

  parameters(): readonly ParameterEntry[] {
    const columns = this.columns.flatMap((column, task) => owned(column.variables(), { task }));
    return [...columns, ...[...this.units.values()].flat()];
  }

  report() {
    return parameterReport(this.parameters(), this.taskCount, this.taskCount);
  }

  dispose(): void {
    for (const column of this.columns) column.dispose();
    this.store.dispose();
  }
}

export const crossStitchPlugin = definePlugin({
  kind: 'method',
  name: 'cross-stitch',
  version: '0.1.0',
  description: 'One column per task mixed by T×T cross-stitch units (per channel or scalar; α 0.9 / 0.1)',
  options,
  check: (o, { backbone }) => checkStages(o.stages, backbone),
  create: (o, context) => new CrossStitchModel(o, context),
});
