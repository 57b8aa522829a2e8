/**
 * The shape `modulation`, `film`, `task-routing` and `adapters` share: one trunk (`trunk/`) for every task,
 * and after each chosen stage a per-task operation on that stage's output. A method supplies the stages it
 * acts after (by the `stages` option, or its default placement), and for each one its variables and what
 * it does to a batch; this class runs the trunk, owns the trunk's variables, reports, and disposes. The
 * trunk before the first operated stage is shared by every task (`taskDependence`), so a gallery indexed
 * under several tasks runs it once per image.
 */
import type { BackboneDescription, BackboneNet, ForwardContext } from '../../src/kinds/backbone.js';
import type {
  MethodCreateContext,
  MtlModel,
  ParameterEntry,
  TaskDependentFromFeatures,
} from '../../src/kinds/method.js';
import * as tf from '../../src/tf.js';
import {
  assertTaskIds,
  galleryPassesAfter,
  owned,
  parameterReport,
  resolveStages,
  runStages,
  stageChannels,
  VariableStore,
} from 'mtlzoo/nn';

/** What a method does after one stage. */
export interface StageOperation {
  /** The stage's output `x` `[N, ..., C]` with each sample's task's operation applied. */
  apply(x: tf.Tensor, taskIds: Int32Array, context: ForwardContext): tf.Tensor;
  /** Its variables, with owners. */
  readonly parameters: readonly ParameterEntry[];
}

/** Where a method builds the operation of one stage. */
export interface StageSite {
  readonly index: number;
  readonly name: string;
  /** Channels of the stage's output. */
  readonly channels: number;
  /** `<method>/<stage>/`, for variables shared by the tasks or laid out per task inside. */
  readonly store: VariableStore;
}

export interface StagewiseSpec {
  /** Method name: the variables' root scope and the name in messages. */
  readonly method: string;
  /** The `stages` option. */
  readonly stages: readonly string[] | undefined;
  /** Stages used when `stages` is absent. */
  readonly defaultStages: (backbone: BackboneDescription) => readonly string[];
  readonly operation: (site: StageSite) => StageOperation;
}

export class StagewiseModel implements MtlModel {
  readonly taskCount: number;
  readonly embeddingDim: number;
  private readonly trunk: BackboneNet;
  private readonly store: VariableStore;
  private readonly operations: ReadonlyMap<number, StageOperation>;
  /** The trunk up to the first stage with an operation computes the same features for every task. */
  readonly taskDependence: TaskDependentFromFeatures;

  constructor(spec: StagewiseSpec, context: MethodCreateContext) {
    const description = context.backbone.description;
    this.taskCount = context.taskCount;
    this.embeddingDim = description.embeddingDim;
    const indices = resolveStages(spec.method, spec.stages, description, spec.defaultStages);
    this.trunk = context.backbone.instantiate('trunk/', context.seed);
    this.store = VariableStore.root(`${spec.method}/`, context.seed);
    this.operations = new Map(
      indices.map((index) => {
        const name = description.stages[index]!.name;
        const site = {
          index,
          name,
          channels: stageChannels(description, index),
          store: this.store.scope(name),
        };
        return [index, spec.operation(site)];
      }),
    );
    const sharedStages = Math.min(...indices) + 1;
    this.taskDependence = {
      from: 'features',
      sharedStages,
      shared: (images, ctx) => runStages(this.trunk, images, ctx, undefined, 0, sharedStages),
      complete: (features, taskIds, ctx) => this.complete(features, taskIds, ctx),
    };
  }

  embed(images: tf.Tensor4D, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, images.shape[0]);
    return tf.tidy(() => this.complete(this.taskDependence.shared(images, context), taskIds, context));
  }

  /** The first operation on the shared features, then the rest of the trunk with its operations. */
  private complete(features: tf.Tensor, taskIds: Int32Array, context: ForwardContext): tf.Tensor2D {
    assertTaskIds(taskIds, this.taskCount, features.shape[0]!);
    const first = this.taskDependence.sharedStages - 1;
    const operate = (index: number, output: tf.Tensor) => {
      const operation = this.operations.get(index);
      return operation ? operation.apply(output, taskIds, context) : output;
    };
    return tf.tidy(
      () => runStages(this.trunk, operate(first, features), context, operate, first + 1) as tf.Tensor2D,
    );
  }

  parameters(): readonly ParameterEntry[] {
    const own = [...this.operations.values()].flatMap((operation) => operation.parameters);
    return [...owned(this.trunk.variables(), 'shared'), ...own];
  }

  report() {
    // Task-specific intermediate features need one pass per task; acting only on the embedding, one pass.
    const passes = galleryPassesAfter(this.trunk.description, this.operations.keys(), this.taskCount);
    return parameterReport(this.parameters(), this.taskCount, passes);
  }

  dispose(): void {
    this.trunk.dispose();
    this.store.dispose();
  }
}
