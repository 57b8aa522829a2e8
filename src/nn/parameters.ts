/** A method's variables as `ParameterEntry`s: ownership, per-task tables, and the parameter report. */
import type { NamedVariable } from '../kinds/backbone.js';
import type { ParameterEntry, ParameterReport } from '../kinds/method.js';
import * as tf from '../tf.js';
import type { Initializer, VariableStore } from './variables.js';

/** `variables` (a backbone copy's, say) as entries of one owner: `'shared'` or `{ task }`. */
export function owned(variables: readonly NamedVariable[], owner: ParameterEntry['owner']): ParameterEntry[] {
  return variables.map((v) => ({ ...v, owner }));
}

/** One trainable variable per task, named `<scope>task<t>` and owned by task t. */
export function perTaskVariables(
  store: VariableStore,
  taskCount: number,
  shape: readonly number[],
  initFor: (task: number) => Initializer,
  appliedAs?: ParameterEntry['appliedAs'],
): ParameterEntry[] {
  return Array.from({ length: taskCount }, (_, task) => ({
    name: `${store.prefix}task${task}`,
    variable: store.add(`task${task}`, shape, initFor(task)),
    trainable: true,
    owner: { task },
    ...(appliedAs ? { appliedAs } : {}),
  }));
}

/** The variables of per-task entries as one `[T, ...]` tensor, for `gatherByTask`. */
export function stackPerTask(entries: readonly ParameterEntry[]): tf.Tensor {
  return tf.stack(entries.map((e) => e.variable));
}

/** What `MtlModel.report()` returns, computed from its parameters (trainable counts by owner, all bytes). */
export function parameterReport(
  entries: readonly ParameterEntry[],
  taskCount: number,
  galleryPasses: number,
): ParameterReport {
  let sharedParams = 0;
  let taskParams = 0;
  let bytes = 0;
  for (const entry of entries) {
    const size = entry.variable.size;
    bytes += size * 4;
    if (!entry.trainable) continue;
    if (entry.owner === 'shared') sharedParams += size;
    else taskParams += size;
  }
  return {
    sharedParams,
    paramsPerTask: taskParams / taskCount,
    totalParams: sharedParams + taskParams,
    bytes,
    galleryPasses,
  };
}
