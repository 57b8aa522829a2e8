/**
 * Variables of per-task copies of small modules (adapters, attention modules, BatchNorm layers). Methods
 * run each task's samples through their own copy with `runGroupedByTask` (one call per task present, by
 * gather, never per sample), so a sample's output never depends on another task's samples, in training
 * too.
 */
import type { ParameterEntry } from '../kinds/method.js';
import { VariableStore } from './variables.js';

/** One root store per task, `<prefix>task<t>/`, so that each task's variables are listed as its own. */
export class PerTaskStores {
  readonly stores: readonly VariableStore[];

  constructor(prefix: string, taskCount: number, seed: number) {
    this.stores = Array.from({ length: taskCount }, (_, t) => VariableStore.root(`${prefix}task${t}/`, seed));
  }

  /** Every task's variables, owned by their task. */
  entries(): ParameterEntry[] {
    return this.stores.flatMap((store, task) => store.variables().map((v) => ({ ...v, owner: { task } })));
  }

  dispose(): void {
    for (const store of this.stores) store.dispose();
  }
}
