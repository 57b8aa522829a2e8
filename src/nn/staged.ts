/** A backbone as an ordered list of stage functions over one `VariableStore`. */
import * as tf from '../tf.js';
import type { BackboneDescription, BackboneNet, ForwardContext } from '../kinds/backbone.js';
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
