/**
 * separate: one full backbone per task (`task<t>/`), nothing shared. Each task's samples run through their
 * own network only, so BatchNorm statistics in training are per task.
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
import type * as tf from '../../src/tf.js';
import { assertTaskIds, owned, parameterReport, runGroupedByTask, runStages } from 'mtlzoo/nn';

const options = z.strictObject({});

class SeparateModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  /** Every task has its own network from the input on. */
  readonly taskDependence: TaskDependence = { from: 'input' };
  private readonly columns: BackboneNet[];

  constructor(context: MethodCreateContext) {
    this.taskCount = context.taskCount;
    this.embeddingDim = context.backbone.description.embeddingDim;
    this.columns = Array.from({ length: this.taskCount }, (_, t) =>
      context.backbone.instantiate(`task${t}/`, context.seed),
    );
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return runGroupedByTask(images, taskIds, this.taskCount, (task, samples) =>
      runStages(this.columns[task]!, samples, context),
    ) as tf.Tensor2D;
  }

  parameters(): readonly ParameterEntry[] {
    return this.columns.flatMap((column, task) => owned(column.variables(), { task }));
  }

  report() {
    return parameterReport(this.parameters(), this.taskCount, this.taskCount);
  }

  dispose(): void {
    for (const column of this.columns) column.dispose();
  }
}

export const separatePlugin = definePlugin({
  kind: 'method',
  name: 'separate',
  version: '0.1.0',
  description: 'One full backbone per task, nothing shared',
  options,
  create: (_o, context) => new SeparateModel(context),
});
