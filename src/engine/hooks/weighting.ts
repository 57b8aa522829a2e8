/**
 * The run's weighting strategy (a plugin of kind `weighting`) as a trainer hook. A loss-based strategy
 * reduces the objective (its weights on the tasks' mean losses); a gradient-based one builds the update from
 * the tasks' gradients: the shared parameters get the strategy's update, and each task-specific parameter its
 * own task's gradient times the strategy's factor for that task (LibMTL). Strategies speak LibMTL's scale (a
 * sum over tasks); every update is divided here by the number of tasks, so equal weighting is the mean.
 * The strategy's state rides in checkpoints under the hook's name.
 */
import { MtlzooError } from '../../errors.js';
import { readNow } from '../../backend/read-now.js';
import type { ParameterEntry } from '../../kinds/method.js';
import type {
  GradientWeighting,
  StrategyState,
  TaskGradientMatrix,
  Weighting,
  WeightingStep,
} from '../../kinds/weighting.js';
import * as tf from '../../tf.js';
import { learningRateAt } from '../../train/optimizers.js';
import { Rng } from '../../util/random.js';
import {
  readTaskGrams,
  stackTaskGradients,
  taskGradientMatrix,
  unstackUpdate,
  type Segment,
  type TaskGrams,
} from '../../weighting/task-gradients.js';
import type { HookState } from '../checkpoint.js';
import type { BackwardPass, TrainerHook, TrainingContext } from '../hooks.js';

export const WEIGHTING_HOOK = 'weighting';

export interface WeightingHookOptions {
  /** The configured strategy's name, for messages. */
  readonly name: string;
  readonly strategy: Weighting;
  /** Dataset task indices of the tasks with a share of the batch (the strategy's tasks, in order). */
  readonly tasks: readonly number[];
  readonly seed: number;
}

function checkWeights(name: string, what: string, values: readonly number[], expected: number): void {
  if (values.length !== expected || values.some((v) => !Number.isFinite(v))) {
    throw new MtlzooError(
      'TRAINING_DIVERGED',
      `weighting "${name}" gave ${what} [${values.join(', ')}]; expected ${expected} finite numbers`,
    );
  }
}

export function weightingHook(options: WeightingHookOptions): TrainerHook {
  const { name, strategy, tasks, seed } = options;
  const K = tasks.length;
  const stepOf = (
    step: number,
    losses: () => readonly number[],
    context: TrainingContext,
    representationGram?: () => number[][],
  ): WeightingStep => {
    const { train } = context.loaded.config;
    let read: readonly number[] | undefined;
    return {
      step,
      get losses() {
        return (read ??= losses());
      },
      lr: learningRateAt(train.optimizer.lr, train.schedule, step, train.steps),
      random: Rng.derive(seed, `weighting/${step}`),
      ...(representationGram
        ? {
            representationGram: () => {
              const gram = representationGram();
              return tasks.map((s) => tasks.map((t) => gram[s]![t]!));
            },
          }
        : {}),
    };
  };
  const ofTasks = (perDatasetTask: readonly number[]) => tasks.map((t) => perDatasetTask[t]!);
  const stateful: Pick<TrainerHook, 'state' | 'restore'> =
    strategy.state && strategy.restore
      ? {
          state: () => strategy.state!() as HookState,
          restore: (state) => strategy.restore!(state as StrategyState),
        }
      : {};
  const afterUpdate: Pick<TrainerHook, 'needsLossesAfterUpdate' | 'afterStep'> =
    strategy.needsLossesAfterUpdate
      ? {
          needsLossesAfterUpdate: true,
          afterStep(record, context) {
            const step = stepOf(record.step - 1, () => ofTasks(record.taskLoss), context);
            strategy.afterUpdate?.(ofTasks(record.taskLossAfter!), step);
          },
        }
      : {};
  const base = { name: WEIGHTING_HOOK, ...stateful, ...afterUpdate };

  if (strategy.uses === 'losses') {
    return {
      ...base,
      objective(_objective, losses, context) {
        const step = stepOf(
          losses.step,
          () =>
            ofTasks(
              Array.from(
                readNow(
                  losses.taskMeans(),
                  `weighting "${name}" reads this step's task losses while the objective is built: it`,
                  'use an engine with synchronous reads (tensorflow, wasm, cpu), or a strategy that does not read them (equal, rlw, or any gradient-based one)',
                ),
                Number,
              ),
            ),
          context,
          () => losses.representationGram(),
        );
        const weights = strategy.weights(step);
        checkWeights(name, 'loss weights', weights, K);
        const perDatasetTask = new Array<number>(context.dataset.tasks.length).fill(0);
        tasks.forEach((t, k) => (perDatasetTask[t] = weights[k]!));
        return losses.weighted(perDatasetTask);
      },
    };
  }
  let warned = false;
  /** The step's task-gradient matrix and its Gram matrices, read before the update is built. */
  let prepared: { matrix: tf.Tensor2D; segments: Segment[]; grams: TaskGrams } | undefined;
  const sharedOf = (context: TrainingContext) =>
    context.model.parameters().filter((p) => p.trainable && p.owner === 'shared');
  return {
    ...base,
    updatesFromTaskGradients: true,
    async afterBackward(pass, context) {
      const shared = sharedOf(context);
      if (shared.length === 0) return;
      tf.dispose(prepared?.matrix);
      const segments = segmentsOf(shared);
      const matrix = stackTaskGradients(
        tasks.map((t) => pass.taskGradients![t]!),
        segments,
      );
      prepared = { matrix, segments, grams: await readTaskGrams(matrix, segments) };
    },
    reduceGradients(update, pass, context) {
      const shared = sharedOf(context);
      if (shared.length === 0) {
        if (!warned) {
          context.log.warn(
            `weighting ${name} acts on the shared parameters' gradients; method ${context.loaded.config.method.name} has none, so each task trains on its own gradient (as with equal weighting)`,
          );
          warned = true;
        }
        return update;
      }
      const { matrix, segments, grams } = prepared!;
      prepared = undefined;
      try {
        return gradientUpdate(strategy, name, pass, update, {
          tasks,
          matrix: taskGradientMatrix(matrix, segments, grams),
          shared: shared.map((p) => ({ name: p.variable.name, shape: p.variable.shape })),
          owners: new Map(
            context.model
              .parameters()
              .flatMap((p) => (p.trainable && p.owner !== 'shared' ? [[p.variable.name, p.owner.task]] : [])),
          ),
          step: stepOf(pass.step, () => ofTasks(pass.taskLosses), context),
        });
      } finally {
        matrix.dispose();
      }
    },
  };
}

function segmentsOf(shared: readonly ParameterEntry[]): Segment[] {
  return shared.map((p) => ({ name: p.variable.name, size: p.variable.size }));
}

function gradientUpdate(
  strategy: GradientWeighting,
  name: string,
  pass: BackwardPass,
  update: tf.NamedTensorMap,
  layout: {
    tasks: readonly number[];
    matrix: TaskGradientMatrix;
    shared: readonly { name: string; shape: readonly number[] }[];
    owners: ReadonlyMap<string, number>;
    step: WeightingStep;
  },
): tf.NamedTensorMap {
  const { tasks, matrix, shared, owners, step } = layout;
  const K = tasks.length;
  const perTask = pass.taskGradients!;
  const result = strategy.update(matrix, step);
  checkWeights(name, 'task weights', result.taskWeights, K);
  const size = matrix.matrix.shape[1];
  if (result.shared.rank !== 1 || result.shared.size !== size) {
    throw new MtlzooError(
      'PLUGIN_FAILED',
      `weighting "${name}" gave a shared update of shape [${result.shared.shape.join(', ')}]; expected [${size}]`,
    );
  }
  const out: tf.NamedTensorMap = {
    ...update,
    ...unstackUpdate(tf.div(result.shared, K) as tf.Tensor1D, shared),
  };
  for (const [variable, task] of owners) {
    const k = tasks.indexOf(task);
    const own = perTask[task]?.[variable];
    if (k >= 0 && own) out[variable] = tf.mul(own, result.taskWeights[k]! / K);
  }
  return out;
}
