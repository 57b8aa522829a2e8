/** A backbone as an ordered list of stage functions over one `VariableStore`. */
import { MtlzooError } from '../errors.js';
import * as tf from '../tf.js';
import type { BackboneDescription, BackboneNet, ForwardContext, NamedVariable } from '../kinds/backbone.js';
import type { VariableStore } from './variables.js';

export type StageFunction = (input: tf.Tensor, context: ForwardContext) => tf.Tensor;

export function stagedNet(
  description: BackboneDescription,
  store: VariableStore,
  stages: readonly StageFunction[],
): BackboneNet {
  if (stages.length !== description.stages.length) {
    throw new Error(
      `${description.name}: ${stages.length} stage functions for ${description.stages.length} stages`,
    );
  }
  return {
    description,
    runStage(index, input, context) {
      const stage = stages[index];
      if (!stage) throw new RangeError(`${description.name} has no stage ${index}`);
      return tf.tidy(() => stage(input, context));
    },
    variables: () => store.variables(),
    dispose: () => store.dispose(),
  };
}

/**
 * Runs stages `[from, to)` in order; `after(index, output)` may replace each stage's output (where a
 * method modulates or mixes). Intermediate tensors are freed; the caller owns the result.
 */
export function runStages(
  net: BackboneNet,
  input: tf.Tensor,
  context: ForwardContext,
  after: (index: number, output: tf.Tensor) => tf.Tensor = (_, output) => output,
  from = 0,
  to = net.description.stages.length,
): tf.Tensor {
  return tf.tidy(() => {
    let x = input;
    for (let i = from; i < to; i++) x = after(i, net.runStage(i, x, context));
    return x;
  });
}

/** Index of a stage by name, or -1. */
export function stageIndex(description: BackboneDescription, name: string): number {
  return description.stages.findIndex((s) => s.name === name);
}

/**
 * The variables of `net` (instantiated under `scope`) that belong to the stages named `stages`, by the
 * backbone naming rule `<scope><stage>/…`. For methods that run only part of a backbone, so that the
 * stages they skip are neither trained nor saved. Throws when a variable sits under no stage's name.
 */
export function stageVariables(
  net: BackboneNet,
  scope: string,
  stages: readonly string[],
): readonly NamedVariable[] {
  const names = net.description.stages.map((s) => s.name);
  const stageOf = (variable: string) => names.find((stage) => variable.startsWith(`${scope}${stage}/`));
  return net.variables().filter((v) => {
    const stage = stageOf(v.name);
    if (stage === undefined) {
      throw new MtlzooError(
        'PLUGIN_INVALID',
        `backbone ${net.description.name}: variable "${v.name}" is not under a stage's name (${scope}<stage>/…), so the stages a method skips cannot be told apart`,
      );
    }
    return stages.includes(stage);
  });
}

/**
 * Forward passes a gallery image needs to be searchable under all `taskCount` tasks when the method's
 * task-specific operations act on the outputs of the stages `indices`: one when only the embedding is
 * task-specific (one trunk pass serves every task), one per task otherwise.
 */
export function galleryPassesAfter(
  description: BackboneDescription,
  indices: Iterable<number>,
  taskCount: number,
): number {
  const onlyEmbedding = [...indices].every((i) => description.stages[i]!.name === 'embedding');
  return onlyEmbedding ? 1 : taskCount;
}
