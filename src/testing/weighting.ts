/**
 * The weighting contract harness: `checkWeightingContract`. A strategy is driven for a few steps on seeded
 * per-task losses (and, for gradient-based strategies, seeded per-task gradients) as the engine drives it,
 * and checked for: weights or an update of the right shapes and finite values, task weights for every
 * task, no tensor left behind per step beyond the state it declares, the same outputs for the same seeded
 * inputs, and a state that round-trips: saved after some steps (values through JSON, tensors copied) and
 * restored into a fresh instance, it continues exactly as the original.
 */
import type { AnyPluginOf } from '../kinds/index.js';
import type { StrategyState, Weighting, WeightingStep } from '../kinds/weighting.js';
import * as tf from '../tf.js';
import { Rng } from '../util/random.js';
import { taskGradientMatrix } from '../weighting/task-gradients.js';
import { assertFinite, assertShape, check, seededTensor } from './assertions.js';
import { buildPlugin, checkedOptions } from './plugin.js';

export interface WeightingContractOptions {
  /** Tasks (default 3). */
  taskCount?: number;
  /** Shared parameters per task gradient, in two segments (default 12). */
  parameters?: number;
  /** Steps driven before the state is saved, and after (default 4 each). */
  steps?: number;
  seed?: number;
}

export interface WeightingContractReport {
  readonly uses: Weighting['uses'];
  /** Whether the strategy keeps state across steps. */
  readonly stateful: boolean;
  /** The outputs of the last step (loss weights, or the shared update). */
  readonly last: readonly number[];
}

interface Inputs {
  readonly losses: number[];
  readonly lossesAfter: number[];
  /** `[tasks, P]` row-major. */
  readonly gradients: Float32Array;
  readonly representationGram: number[][];
}

/** Seeded inputs of step `step`: positive losses that tend to fall, gradients of mixed signs. */
function inputsOf(step: number, tasks: number, parameters: number, seed: number): Inputs {
  const rng = Rng.derive(seed, `weighting-contract/${step}`);
  const losses = Array.from({ length: tasks }, () => 0.2 + rng.next() / (1 + step));
  const gradients = tf.tidy(
    () => tf.sub(seededTensor([tasks, parameters], seed * 1000 + step), 0.5).dataSync() as Float32Array,
  );
  const rows = Array.from({ length: tasks }, () => Array.from({ length: 4 }, () => rng.normal()));
  return {
    losses,
    lossesAfter: losses.map((l) => l * (0.8 + 0.15 * rng.next())),
    gradients: Float32Array.from(gradients),
    representationGram: rows.map((a) => rows.map((b) => a.reduce((s, v, i) => s + v * b[i]!, 0))),
  };
}

function stepOf(step: number, inputs: Inputs, seed: number): WeightingStep {
  return {
    step,
    losses: inputs.losses,
    lr: 0.01,
    random: Rng.derive(seed, `weighting-contract/random/${step}`),
    representationGram: () => inputs.representationGram.map((row) => [...row]),
  };
}

/** One engine step of `weighting`: its outputs as numbers; nothing but its own state may stay allocated. */
function drive(
  label: string,
  weighting: Weighting,
  step: number,
  inputs: Inputs,
  shape: { tasks: number; parameters: number },
  seed: number,
): number[] {
  const { tasks, parameters } = shape;
  const at = stepOf(step, inputs, seed);
  let out: number[];
  if (weighting.uses === 'losses') {
    const weights = weighting.weights(at);
    check(
      weights.length === tasks && weights.every(Number.isFinite),
      () => `${label}: step ${step}: weights [${weights.join(', ')}], expected ${tasks} finite numbers`,
    );
    out = [...weights];
  } else {
    const segments = [
      { name: 'a', size: Math.ceil(parameters / 2) },
      { name: 'b', size: Math.floor(parameters / 2) },
    ];
    const matrix = tf.tensor2d(inputs.gradients, [tasks, parameters]);
    const result = weighting.update(taskGradientMatrix(matrix, segments), at);
    assertShape(`${label}: step ${step}: shared update`, result.shared.shape, [parameters]);
    assertFinite(`${label}: step ${step}: shared update`, result.shared.dataSync());
    check(
      result.taskWeights.length === tasks && result.taskWeights.every(Number.isFinite),
      () =>
        `${label}: step ${step}: task weights [${result.taskWeights.join(', ')}], expected ${tasks} finite numbers`,
    );
    out = [...Array.from(result.shared.dataSync()), ...result.taskWeights];
    tf.dispose([matrix, result.shared]);
  }
  if (weighting.needsLossesAfterUpdate) {
    check(weighting.afterUpdate !== undefined, () => `${label}: needsLossesAfterUpdate without afterUpdate`);
    weighting.afterUpdate(inputs.lossesAfter, at);
  }
  return out;
}

/** The state as a checkpoint keeps it: values through JSON, tensors copied. */
function saved(state: StrategyState): StrategyState {
  return {
    ...(state.values !== undefined
      ? { values: JSON.parse(JSON.stringify(state.values)) as StrategyState['values'] }
      : {}),
    ...(state.tensors
      ? { tensors: state.tensors.map((t) => ({ name: t.name, tensor: tf.clone(t.tensor) })) }
      : {}),
  };
}

/**
 * Checks a weighting plugin: options validate, round-trip and pass `check`; it is created for `taskCount`
 * tasks through mtlzoo's build door; for 2 × `steps` steps it gives finite weights (loss-based) or a finite
 * `[P]` update and finite task weights (gradient-based); the tensor count is flat from step to step; two
 * instances given the same inputs agree; the state saved after `steps` steps and restored into a fresh
 * instance continues exactly as the original.
 */
export async function checkWeightingContract(
  plugin: AnyPluginOf<'weighting'>,
  rawOptions: unknown,
  options: WeightingContractOptions = {},
): Promise<WeightingContractReport> {
  const label = `weighting ${plugin.name}`;
  const tasks = options.taskCount ?? 3;
  const parameters = options.parameters ?? 12;
  const steps = options.steps ?? 4;
  const seed = options.seed ?? 1;
  const shape = { tasks, parameters };
  const parsed = checkedOptions('weighting', plugin, rawOptions);
  const create = () => buildPlugin('weighting', plugin, parsed, { taskCount: tasks, seed });
  const weighting = await create();
  const twin = await create();
  check(
    weighting.uses === 'losses' || weighting.uses === 'gradients',
    () =>
      `${label}: uses is ${JSON.stringify((weighting as { uses: unknown }).uses)}, expected "losses" or "gradients"`,
  );
  const stateful = weighting.state !== undefined;
  check(
    stateful === (weighting.restore !== undefined),
    () => `${label}: state() and restore() come together (a checkpoint could not give back what it saved)`,
  );

  // Drives the reference instance and `other` through steps [from, to) on the same inputs: identical outputs.
  const counts: number[] = [];
  let last: number[] = [];
  const compare = (
    other: Weighting,
    from: number,
    to: number,
    differs: (step: number, got: number[]) => string,
  ) => {
    for (let step = from; step < to; step++) {
      const inputs = inputsOf(step, tasks, parameters, seed);
      last = drive(label, weighting, step, inputs, shape, seed);
      const got = drive(label, other, step, inputs, shape, seed);
      check(
        last.every((v, i) => Object.is(v, got[i])),
        () => `${label}: step ${step}: ${differs(step, got)}`,
      );
      counts.push(tf.memory().numTensors);
    }
  };
  compare(
    twin,
    0,
    steps,
    (_, got) => `two instances given the same inputs disagree ([${last.join(', ')}] vs [${got.join(', ')}])`,
  );
  const restored = await create();
  if (stateful) {
    const state = saved(weighting.state!());
    restored.restore!(state);
    tf.dispose(state.tensors?.map((t) => t.tensor) ?? []);
  }
  compare(
    restored,
    steps,
    2 * steps,
    (_, got) =>
      `restored from the state saved at step ${steps} it gives [${got.join(', ')}], the original [${last.join(', ')}]` +
      (stateful ? '' : ' (a strategy whose outputs depend on past steps must expose state() and restore())'),
  );
  // Each instance may create its state at its first step (the restored one, when restored); after that,
  // nothing may grow from step to step.
  for (const phase of [counts.slice(0, steps), counts.slice(steps)]) {
    check(
      phase.slice(1).every((c) => c === phase[0]),
      () => `${label}: the tensor count changes from step to step (${phase.join(', ')}): tensors leak`,
    );
  }
  return { uses: weighting.uses, stateful, last };
}
