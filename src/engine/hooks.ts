/**
 * The trainer's typed hooks (Lightning's callbacks, rollup's PluginDriver). The training loop only draws
 * batches and applies updates; logging, validation and best selection, checkpoints, the gradient probe
 * and progress are hooks, each in its own file, and so is the weighting strategy of the second MTL axis
 * (LibMTL's, hooks/weighting.ts), which plugs into the two reducing hooks.
 *
 * Every hook name has one dispatch kind (`HOOK_KINDS`, exhaustive over `TrainerHook`):
 * - `sequential`: awaited hook by hook, in the order the hooks were given;
 * - `reduce`: each hook receives the previous hook's result and returns its own (rollup's hookReduceArg0):
 *   `objective` turns per-task losses into the scalar that is differentiated (equal weighting when no hook
 *   takes part), `reduceGradients` turns the gradients (and per-task gradients, when asked for) into the
 *   update of every trainable variable.
 *
 * A hook that keeps state across steps exposes `state()`/`restore()`: the state is saved in every `last`
 * checkpoint under the hook's name and restored exactly on resume.
 */
import type { LoadedConfig } from '../config/load.js';
import { MtlzooError } from '../errors.js';
import type { Dataset } from '../kinds/dataset.js';
import type { Metric } from '../kinds/evaluator.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import type { MtlModel } from '../kinds/method.js';
import type { Logger } from '../plugin/types.js';
import type * as tf from '../tf.js';
import type { HookState } from './checkpoint.js';
import type { RunDir } from './run-dir.js';
import type { TrainSummary } from './summary.js';

export interface StepRecord {
  readonly type: 'train';
  /** Steps completed after this one (1-based). */
  readonly step: number;
  readonly loss: number;
  /** Mean triplet loss per task, in dataset task order. */
  readonly taskLoss: readonly number[];
  readonly lr: number;
  readonly ms: number;
  /** Mean loss per task on the same batch after the update; only when a hook declares `needsLossesAfterUpdate`. */
  readonly taskLossAfter?: readonly number[];
}

export interface EvalRecord {
  readonly type: 'eval';
  readonly step: number;
  readonly split: 'val' | 'test';
  readonly metrics: readonly Metric[];
}

export interface CheckpointEvent {
  readonly which: 'best' | 'last';
  readonly dir: string;
  readonly step: number;
}

/** The losses of one update, inside its gradient function (tensors are differentiable). */
export interface TaskLosses {
  /** 0-based index of the update. */
  readonly step: number;
  /** Loss of every triplet of the batch. */
  readonly perTriplet: tf.Tensor1D;
  /** Each triplet's task. */
  readonly taskIds: Int32Array;
  /** Mean loss per task `[T]` (0 for a task without triplets in the batch), computed on first use. */
  taskMeans(): tf.Tensor1D;
  /**
   * `Σ_t weights[t] · mean_t / K` over the K tasks with triplets in the batch (`weights` per dataset task, as
   * constants): equal weighting when every weight is 1, with exactly the default objective's arithmetic.
   */
  weighted(weights: readonly number[]): tf.Scalar;
  /**
   * `G[s][t]`: dot products of task s's and task t's gradients (of their mean losses) with respect to the
   * batch's embeddings before normalisation, for every dataset task; float64 host values.
   */
  representationGram(): number[][];
}

/**
 * Per-task gradients: `[task][variable name]`, each task's mean loss differentiated with respect to every
 * trainable variable it reaches (the shared ones and its own).
 */
export type TaskGradients = readonly tf.NamedTensorMap[];

/** One update after backpropagation, before it is applied. Tensors live only during the hook call. */
export interface BackwardPass {
  readonly step: number;
  /** Mean loss per task (host values), in dataset task order; NaN for a task without triplets. */
  readonly taskLosses: readonly number[];
  /**
   * Gradients of the objective for every trainable variable, by name (with `updatesFromTaskGradients`, the
   * equal-weighting gradient assembled from the per-task ones).
   */
  readonly grads: tf.NamedTensorMap;
  /** Names of the shared trainable variables (the ones every task's loss reaches). */
  readonly shared: readonly string[];
  /** Present only when a hook declares `needsTaskGradients` or `updatesFromTaskGradients`. */
  readonly taskGradients?: TaskGradients;
}

/** What hooks see of the run being trained, and the actions they may take. */
export interface TrainingContext {
  readonly loaded: LoadedConfig;
  readonly dataset: Dataset;
  readonly model: MtlModel;
  readonly loss: TripletLossFunction;
  readonly log: Logger;
  readonly run: RunDir;
  /** The step (updates completed) this process started from: 0, or the resumed checkpoint's. */
  readonly startStep: number;
  /** Updates completed when `last` was last written (by this process or the one resumed). */
  readonly lastSavedStep: number;
  /** Evaluates a split with the run's evaluators and dispatches `evaluated`. */
  evaluate(split: 'val' | 'test', step: number): Promise<EvalRecord>;
  /** Writes a checkpoint (`last` with the training state) and dispatches `checkpointed`. */
  saveCheckpoint(which: 'best' | 'last', step: number, metrics?: readonly Metric[]): Promise<void>;
}

type Awaitable<T> = T | Promise<T>;

export interface TrainerHook {
  /** Unique among a run's hooks; names the hook's state in checkpoints. */
  readonly name: string;
  /** The per-task gradients are computed (one extra forward and backward per task) only if a hook says so. */
  readonly needsTaskGradients?: boolean;
  /**
   * The hook's `reduceGradients` builds the whole update from the per-task gradients, so the objective is not
   * differentiated on its own: one forward and backward per task and step, none besides (gradient-based
   * weighting strategies). `objective` hooks cannot take part then.
   */
  readonly updatesFromTaskGradients?: boolean;
  /** Each task's mean loss on the batch is measured again after the update (one forward pass; FAMO). */
  readonly needsLossesAfterUpdate?: boolean;

  /** Once the model, optimiser and hook states are ready (after a resume's restore), before the first step. */
  start?(context: TrainingContext): Awaitable<void>;
  /** Before update `step` (0-based). */
  beforeStep?(step: number, context: TrainingContext): Awaitable<void>;
  /** Reducing, inside the gradient function: the objective to differentiate, from the previous hook's. */
  objective?(objective: tf.Scalar, losses: TaskLosses, context: TrainingContext): tf.Scalar;
  /**
   * After backpropagation, before the update is built (awaited: values are read back asynchronously here).
   * The pass's tensors live until the update is applied.
   */
  afterBackward?(pass: BackwardPass, context: TrainingContext): Awaitable<void>;
  /** Reducing: the update of every trainable variable (by name), from the previous hook's. */
  reduceGradients?(
    update: tf.NamedTensorMap,
    pass: BackwardPass,
    context: TrainingContext,
  ): tf.NamedTensorMap;
  /** After the update is applied. */
  afterStep?(record: StepRecord, context: TrainingContext): Awaitable<void>;
  /** After an evaluation (validation during training, test at the end). */
  evaluated?(record: EvalRecord, context: TrainingContext): Awaitable<void>;
  /** After a checkpoint was written. */
  checkpointed?(event: CheckpointEvent, context: TrainingContext): Awaitable<void>;
  /** After the test and summary of a finished run. */
  end?(summary: TrainSummary, context: TrainingContext): Awaitable<void>;

  /** State to carry across a resume (values must be JSON; tensors are copied when saved). */
  state?(): HookState;
  /** Restores `state()` as saved; tensors live only during the call. */
  restore?(state: HookState): void;
}

type HookName = Exclude<
  keyof TrainerHook,
  'name' | 'needsTaskGradients' | 'updatesFromTaskGradients' | 'needsLossesAfterUpdate' | 'state' | 'restore'
>;

/** How each hook is dispatched; `satisfies` keeps the list exhaustive. */
export const HOOK_KINDS = {
  start: 'sequential',
  beforeStep: 'sequential',
  objective: 'reduce',
  afterBackward: 'sequential',
  reduceGradients: 'reduce',
  afterStep: 'sequential',
  evaluated: 'sequential',
  checkpointed: 'sequential',
  end: 'sequential',
} as const satisfies Record<HookName, 'sequential' | 'reduce'>;

type NamesOf<K extends string> = { [N in HookName]: (typeof HOOK_KINDS)[N] extends K ? N : never }[HookName];
type HookFunction<N extends HookName> = NonNullable<TrainerHook[N]>;
type Args<N extends HookName> = Parameters<HookFunction<N>>;
type Rest<N extends HookName> = Args<N> extends [unknown, ...infer R] ? R : never;

/** Dispatches hooks by kind, in the order given. */
export class HookDriver {
  constructor(readonly hooks: readonly TrainerHook[]) {
    const names = hooks.map((h) => h.name);
    const twice = names.find((name, i) => names.indexOf(name) !== i);
    if (twice !== undefined) throw new MtlzooError('USAGE', `two trainer hooks are named "${twice}"`, 2);
    const updating = hooks.filter((h) => h.updatesFromTaskGradients).map((h) => h.name);
    const objectives = hooks.filter((h) => h.objective).map((h) => h.name);
    if (updating.length > 0 && objectives.length > 0) {
      throw new MtlzooError(
        'USAGE',
        `trainer hook ${updating.join(', ')} builds the update from per-task gradients, so the objective of ${objectives.join(', ')} would never be differentiated`,
        2,
      );
    }
  }

  private implementing<N extends HookName>(name: N): { hook: TrainerHook; fn: HookFunction<N> }[] {
    return this.hooks.flatMap((hook) => (hook[name] ? [{ hook, fn: hook[name] as HookFunction<N> }] : []));
  }

  has(name: HookName): boolean {
    return this.hooks.some((hook) => hook[name] !== undefined);
  }

  get needsTaskGradients(): boolean {
    return this.hooks.some((hook) => hook.needsTaskGradients === true) || this.updatesFromTaskGradients;
  }

  get updatesFromTaskGradients(): boolean {
    return this.hooks.some((hook) => hook.updatesFromTaskGradients === true);
  }

  get needsLossesAfterUpdate(): boolean {
    return this.hooks.some((hook) => hook.needsLossesAfterUpdate === true);
  }

  async sequential<N extends NamesOf<'sequential'>>(name: N, ...args: Args<N>): Promise<void> {
    for (const { hook, fn } of this.implementing(name)) {
      await (fn as (...a: Args<N>) => Awaitable<void>).apply(hook, args);
    }
  }

  reduce<N extends NamesOf<'reduce'>>(name: N, initial: Args<N>[0], ...rest: Rest<N>): Args<N>[0] {
    let value = initial;
    for (const { hook, fn } of this.implementing(name)) {
      value = (fn as (...a: unknown[]) => Args<N>[0]).apply(hook, [value, ...rest]);
    }
    return value;
  }

  /** Every stateful hook's state, by name. */
  states(): Record<string, HookState> {
    return Object.fromEntries(this.hooks.filter((h) => h.state).map((h) => [h.name, h.state!()]));
  }

  /** Restores saved states; a stateful hook without one, or a state without its hook, cannot resume exactly. */
  restore(states: Readonly<Record<string, HookState>>): void {
    const stateful = this.hooks.filter((h) => h.restore);
    const missing = stateful.filter((h) => !(h.name in states)).map((h) => h.name);
    const unknown = Object.keys(states).filter((name) => !stateful.some((h) => h.name === name));
    if (missing.length > 0 || unknown.length > 0) {
      throw new Error(
        `hook states do not match the run's hooks (${[
          ...missing.map((n) => `no state for ${n}`),
          ...unknown.map((n) => `state of unknown hook ${n}`),
        ].join('; ')})`,
      );
    }
    for (const hook of stateful) hook.restore!(states[hook.name]!);
  }
}
