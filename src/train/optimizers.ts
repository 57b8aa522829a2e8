/**
 * Optimisers and learning-rate schedules from config objects. The schemas are strict with defaults so the
 * config loader can embed them as `train.optimizer` and `train.schedule`.
 *
 * The optimisers are mtlzoo's own, so that their whole state (step count, every moment or accumulator,
 * Adam's running bias-correction products) is saved and restored bit for bit: a resumed run continues
 * exactly where it stopped. (tfjs's AdamOptimizer.setWeights recomputes beta^t with pow where training
 * multiplied step by step in float32, so a resumed Adam run drifted.) Each update performs the same
 * tensor operations, in the same order, as tfjs's optimiser of the same name, so results are those of tfjs.
 */
import { z } from 'zod';
import * as tf from '../tf.js';

const learningRate = z.number().positive();

const adamKeys = {
  lr: learningRate.default(0.001),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  epsilon: z.number().positive().default(1e-8),
};

export const optimizerSchema = z
  .discriminatedUnion('type', [
    // The authors' choice (FaceNet's train_tripletloss defaults: Adagrad, learning rate 0.1).
    z.strictObject({
      type: z.literal('adagrad'),
      lr: learningRate.default(0.1),
      initialAccumulatorValue: z.number().nonnegative().default(0.1),
    }),
    z.strictObject({ type: z.literal('adam'), ...adamKeys }),
    // Adam with decoupled weight decay (Loshchilov & Hutter 2019), as PyTorch's AdamW.
    z.strictObject({
      type: z.literal('adamw'),
      ...adamKeys,
      weightDecay: z.number().nonnegative().default(0.01),
    }),
    z.strictObject({
      type: z.literal('sgd'),
      lr: learningRate.default(0.01),
      momentum: z.number().min(0).lt(1).default(0.9),
      nesterov: z.boolean().default(false),
    }),
  ])
  // prefault, not default: an omitted optimizer is parsed as `{ type: 'adagrad' }`, filling its defaults.
  .prefault({ type: 'adagrad' });
export type OptimizerConfig = z.output<typeof optimizerSchema>;

const warmupSteps = z.number().int().nonnegative().default(0);

export const scheduleSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('constant'), warmupSteps }),
    z.strictObject({
      type: z.literal('step'),
      every: z.number().int().positive(),
      gamma: z.number().positive().default(0.1),
      warmupSteps,
    }),
    z.strictObject({
      type: z.literal('cosine'),
      /** The factor reached at the last step, as a fraction of the base rate. */
      minFactor: z.number().min(0).max(1).default(0),
      warmupSteps,
    }),
  ])
  .prefault({ type: 'constant' });
export type ScheduleConfig = z.output<typeof scheduleSchema>;

/**
 * Learning rate at `step` (0-based count of updates already applied) of a run of `totalSteps` updates:
 * base · warm-up(step) · decay(step).
 * - warm-up: (step + 1) / warmupSteps for step < warmupSteps, so the last warm-up step reaches the base rate;
 *   1 afterwards.
 * - constant: 1. step: gamma^⌊step / every⌋.
 * - cosine: minFactor + (1 − minFactor) · (1 + cos(π·t)) / 2 with t = (step − warmupSteps) /
 *   (totalSteps − 1 − warmupSteps) clamped to [0, 1]: 1 right after warm-up, minFactor at the last step.
 */
export function learningRateAt(
  base: number,
  schedule: ScheduleConfig,
  step: number,
  totalSteps: number,
): number {
  const warm = step < schedule.warmupSteps ? (step + 1) / schedule.warmupSteps : 1;
  switch (schedule.type) {
    case 'constant':
      return base * warm;
    case 'step':
      return base * warm * schedule.gamma ** Math.floor(step / schedule.every);
    case 'cosine': {
      const span = totalSteps - 1 - schedule.warmupSteps;
      const t = span > 0 ? Math.min(1, Math.max(0, (step - schedule.warmupSteps) / span)) : 1;
      return (
        base * warm * (schedule.minFactor + ((1 - schedule.minFactor) * (1 + Math.cos(Math.PI * t))) / 2)
      );
    }
  }
}

/** A named tensor of an optimiser's state. */
export interface StateTensor {
  readonly name: string;
  readonly tensor: tf.Tensor;
}

/** Everything an optimiser carries from one update to the next. */
export interface OptimizerState {
  /** Updates applied so far. */
  readonly step: number;
  /**
   * Optimiser-wide tensors by name, and per-variable slots named `<variable>/<slot>` after the model's
   * stable parameter names (tfjs's own variable names change from process to process).
   */
  readonly tensors: readonly StateTensor[];
}

/**
 * An optimiser that owns its state. Slots are created at a variable's first update (or restored), keyed by
 * the variable, so the state does not depend on the order gradients arrive in.
 */
export abstract class TrainingOptimizer {
  /** tfjs variable name → slot name → slot. */
  private readonly slots = new Map<string, Map<string, tf.Variable>>();
  /** State that is not per variable (Adam's bias-correction products). */
  protected readonly globals = new Map<string, tf.Variable>();
  private updates = 0;
  protected learningRate: number;

  constructor(
    readonly type: OptimizerConfig['type'],
    learningRate: number,
  ) {
    this.learningRate = learningRate;
  }

  get step(): number {
    return this.updates;
  }

  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }

  /** One update of each variable named in `grads` (variables are looked up in tfjs's registry). */
  applyGradients(grads: tf.NamedTensorMap): void {
    tf.tidy(() => {
      const shared = this.beginUpdate();
      for (const [name, gradient] of Object.entries(grads)) {
        const variable = tf.engine().registeredVariables[name];
        if (!variable) throw new Error(`optimizer: no variable named ${name}`);
        this.update(name, variable, gradient, shared);
      }
      this.endUpdate();
    });
    this.updates += 1;
  }

  /** Tensors computed once per update and shared by every variable's update. */
  protected beginUpdate(): tf.Tensor[] {
    return [];
  }

  protected endUpdate(): void {}

  protected abstract update(name: string, value: tf.Variable, gradient: tf.Tensor, shared: tf.Tensor[]): void;

  /** The slot `slot` of variable `name`, created by `initial` at first use. */
  protected slot(name: string, slot: string, initial: () => tf.Tensor): tf.Variable {
    let slots = this.slots.get(name);
    if (!slots) {
      slots = new Map();
      this.slots.set(name, slots);
    }
    let variable = slots.get(slot);
    if (!variable) {
      variable = tf.tidy(() => initial().variable(false));
      slots.set(slot, variable);
    }
    return variable;
  }

  protected global(name: string, initial: number): tf.Variable {
    let variable = this.globals.get(name);
    if (!variable) {
      variable = tf.tidy(() => tf.scalar(initial).variable(false));
      this.globals.set(name, variable);
    }
    return variable;
  }

  /**
   * The state as it is now, slots named after `names` (tfjs variable name → stable name); the tensors are
   * the optimiser's own (copy them to keep them).
   */
  state(names: ReadonlyMap<string, string>): OptimizerState {
    const byName = (a: StateTensor, b: StateTensor) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const globals = [...this.globals].map(([name, tensor]) => ({ name, tensor }));
    const slots = [...this.slots].flatMap(([variable, slots]) => {
      const stable = names.get(variable);
      if (stable === undefined) throw new Error(`optimizer: variable ${variable} has no stable name`);
      return [...slots].map(([slot, tensor]) => ({ name: `${stable}/${slot}`, tensor }));
    });
    return { step: this.updates, tensors: [...globals.sort(byName), ...slots.sort(byName)] };
  }

  /**
   * Replaces the state with a saved one (values are copied). `variables` maps stable names to the
   * variables they name, so a state that does not fit the model is refused before anything changes.
   */
  restore(state: OptimizerState, variables: ReadonlyMap<string, tf.Variable>): void {
    const globals = new Map<string, tf.Tensor>();
    const slots: { variable: tf.Variable; slot: string; tensor: tf.Tensor }[] = [];
    for (const { name, tensor } of state.tensors) {
      if (this.globals.has(name)) {
        if (tensor.size !== 1) throw new Error(`optimizer state ${name} must be a scalar`);
        globals.set(name, tensor);
        continue;
      }
      const cut = name.lastIndexOf('/');
      const variable = variables.get(name.slice(0, cut));
      if (!variable)
        throw new Error(`optimizer state ${name} belongs to no trainable variable of this model`);
      if (!tf.util.arraysEqual(variable.shape, tensor.shape)) {
        throw new Error(
          `optimizer state ${name} has shape [${tensor.shape.join(', ')}], expected [${variable.shape.join(', ')}]`,
        );
      }
      slots.push({ variable, slot: name.slice(cut + 1), tensor });
    }
    const missing = [...this.globals.keys()].filter((name) => !globals.has(name));
    if (missing.length > 0) throw new Error(`optimizer state lacks ${missing.join(', ')}`);
    tf.tidy(() => {
      for (const [name, tensor] of globals) this.globals.get(name)!.assign(tensor.reshape([]));
    });
    this.disposeSlots();
    for (const { variable, slot, tensor } of slots) this.slot(variable.name, slot, () => tensor.clone());
    this.updates = state.step;
  }

  private disposeSlots(): void {
    for (const slots of this.slots.values()) tf.dispose([...slots.values()]);
    this.slots.clear();
  }

  dispose(): void {
    this.disposeSlots();
    tf.dispose([...this.globals.values()]);
    this.globals.clear();
  }
}

/** Adagrad, as tfjs's AdagradOptimizer (epsilon: the backend's). */
class Adagrad extends TrainingOptimizer {
  constructor(private readonly config: Extract<OptimizerConfig, { type: 'adagrad' }>) {
    super('adagrad', config.lr);
  }

  protected update(name: string, value: tf.Variable, gradient: tf.Tensor): void {
    const accumulator = this.slot(name, 'accumulator', () =>
      tf.fill(value.shape, this.config.initialAccumulatorValue),
    );
    const next = tf.add(accumulator, tf.square(gradient));
    accumulator.assign(next);
    const step = tf.div(gradient, tf.sqrt(tf.add(next, tf.backend().epsilon())));
    value.assign(tf.add(tf.mul(step, -this.learningRate), value));
  }
}

/**
 * Adam, as tfjs's AdamOptimizer: the bias-correction products beta^t are kept as float32 scalars
 * multiplied by beta after every update (and saved as such). With `weightDecay`, AdamW: the weights are
 * first scaled by 1 − lr·weightDecay, as PyTorch's AdamW.
 */
class Adam extends TrainingOptimizer {
  constructor(
    private readonly config: Extract<OptimizerConfig, { type: 'adam' | 'adamw' }>,
    private readonly weightDecay: number,
  ) {
    super(config.type, config.lr);
    this.global('beta1Power', config.beta1);
    this.global('beta2Power', config.beta2);
  }

  protected override beginUpdate(): tf.Tensor[] {
    return [tf.sub(1, this.globals.get('beta1Power')!), tf.sub(1, this.globals.get('beta2Power')!)];
  }

  protected update(name: string, value: tf.Variable, gradient: tf.Tensor, shared: tf.Tensor[]): void {
    const { beta1, beta2, epsilon } = this.config;
    const [oneMinusBeta1Power, oneMinusBeta2Power] = shared as [tf.Tensor, tf.Tensor];
    const m = this.slot(name, 'm', () => tf.zerosLike(value));
    const v = this.slot(name, 'v', () => tf.zerosLike(value));
    const nextM = tf.add(tf.mul(m, beta1), tf.mul(gradient, 1 - beta1));
    const nextV = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gradient), 1 - beta2));
    const mHat = tf.div(nextM, oneMinusBeta1Power);
    const vHat = tf.div(nextV, oneMinusBeta2Power);
    m.assign(nextM);
    v.assign(nextV);
    const base = this.weightDecay > 0 ? tf.mul(value, 1 - this.learningRate * this.weightDecay) : value;
    value.assign(tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon)), -this.learningRate), base));
  }

  protected override endUpdate(): void {
    const power1 = this.globals.get('beta1Power')!;
    const power2 = this.globals.get('beta2Power')!;
    power1.assign(tf.mul(power1, this.config.beta1));
    power2.assign(tf.mul(power2, this.config.beta2));
  }
}

/** SGD with (Nesterov) momentum, as tfjs's MomentumOptimizer; momentum 0 is plain SGD. */
class Momentum extends TrainingOptimizer {
  constructor(private readonly config: Extract<OptimizerConfig, { type: 'sgd' }>) {
    super('sgd', config.lr);
  }

  protected update(name: string, value: tf.Variable, gradient: tf.Tensor): void {
    const { momentum, nesterov } = this.config;
    const accumulation = this.slot(name, 'momentum', () => tf.zerosLike(value));
    const next = tf.add(tf.mul(momentum, accumulation), gradient);
    const direction = nesterov ? tf.add(gradient, tf.mul(next, momentum)) : next;
    accumulation.assign(next);
    value.assign(tf.add(tf.mul(-this.learningRate, direction), value));
  }
}

/** Builds the configured optimiser at its base learning rate. */
export function createOptimizer(config: OptimizerConfig): TrainingOptimizer {
  switch (config.type) {
    case 'adagrad':
      return new Adagrad(config);
    case 'adam':
      return new Adam(config, 0);
    case 'adamw':
      return new Adam(config, config.weightDecay);
    case 'sgd':
      return new Momentum(config);
  }
}
