/**
 * Explicit variables with stable logical names. tfjs variable names must be globally unique, so variables
 * are created without one; the logical name (`scope + 'block1/conv1/kernel'`) lives beside the variable
 * and is what checkpoints and parameter reports use.
 */
import * as tf from '../tf.js';
import type { NamedVariable } from '../kinds/backbone.js';
import { Rng } from '../util/random.js';

/** Fills a new variable's initial values; draws only from `rng`, so a seed reproduces them. */
export type Initializer = (shape: readonly number[], rng: Rng) => Float32Array;

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Fan-in and fan-out of a dense `[in, out]` or conv `[kh, kw, in, out]` kernel. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: sizeOf(shape), fanOut: sizeOf(shape) };
  const receptive = sizeOf(shape.slice(0, -2));
  return { fanIn: receptive * shape[shape.length - 2]!, fanOut: receptive * shape[shape.length - 1]! };
}

function fill(shape: readonly number[], draw: () => number): Float32Array {
  const values = new Float32Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = draw();
  return values;
}

export const initializers = {
  constant:
    (value: number): Initializer =>
    (shape) =>
      new Float32Array(sizeOf(shape)).fill(value),
  normal:
    (mean: number, stddev: number): Initializer =>
    (shape, rng) =>
      fill(shape, () => mean + stddev * rng.normal()),
  /** TensorFlow's truncated_normal (the released facenet-small code uses stddev 0.1). */
  truncatedNormal:
    (stddev: number): Initializer =>
    (shape, rng) =>
      fill(shape, () => rng.truncatedNormal(stddev)),
  /** PyTorch's kaiming_normal_ with ReLU gain, as torchvision initialises ResNet convs. */
  heNormal:
    (mode: 'fanIn' | 'fanOut'): Initializer =>
    (shape, rng) => {
      const std = Math.sqrt(2 / fans(shape)[mode]);
      return fill(shape, () => std * rng.normal());
    },
  /** PyTorch's default nn.Linear init: U(-1/sqrt(fanIn), 1/sqrt(fanIn)); `fanIn` given for biases. */
  torchLinear:
    (fanIn?: number): Initializer =>
    (shape, rng) => {
      const bound = 1 / Math.sqrt(fanIn ?? fans(shape).fanIn);
      return fill(shape, () => rng.uniform(-bound, bound));
    },
  /** `[C, C]` identity; `[..., C, C]` stacks of identities. */
  identity: (): Initializer => (shape) => {
    const n = shape[shape.length - 1]!;
    const values = new Float32Array(sizeOf(shape));
    for (let offset = 0; offset < values.length; offset += n * n) {
      for (let i = 0; i < n; i++) values[offset + i * n + i] = 1;
    }
    return values;
  },
};

export interface AddOptions {
  /** False for state such as BatchNorm moving statistics. Default true. */
  trainable?: boolean;
}

/**
 * Creates and owns the variables of one module tree. `scope()` returns a view that prefixes names and
 * shares the list, so a whole network is disposed and listed from its root.
 */
export class VariableStore {
  private constructor(
    readonly prefix: string,
    private readonly seed: number,
    private readonly entries: NamedVariable[],
  ) {}

  static root(prefix: string, seed: number): VariableStore {
    return new VariableStore(prefix, seed, []);
  }

  scope(name: string): VariableStore {
    return new VariableStore(`${this.prefix}${name}/`, this.seed, this.entries);
  }

  /**
   * Each variable draws from a stream derived from the seed and its full name, so adding a variable never
   * changes another's initial values and differently scoped copies (task0/, task1/) start apart.
   */
  add(name: string, shape: readonly number[], init: Initializer, options: AddOptions = {}): tf.Variable {
    const fullName = this.prefix + name;
    if (this.entries.some((e) => e.name === fullName)) throw new Error(`variable "${fullName}" exists`);
    const trainable = options.trainable ?? true;
    const initial = tf.tensor(init(shape, Rng.derive(this.seed, fullName)), [...shape], 'float32');
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.entries.push({ name: fullName, variable, trainable });
    return variable;
  }

  variables(): readonly NamedVariable[] {
    return this.entries;
  }

  dispose(): void {
    for (const entry of this.entries) entry.variable.dispose();
    this.entries.length = 0;
  }
}
