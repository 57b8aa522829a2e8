/**
 * Every kind's contract in one import. A plugin author reads the one file of the kind they write
 * (`src/kinds/<kind>.ts`); this file only maps kinds to their instance and context types.
 */
import type { PluginDefinition, PluginKind } from '../plugin/types.js';
import type { BackboneFactory } from './backbone.js';
import type { BackendEngine } from './backend.js';
import type { Dataset, DatasetCreateContext, DatasetPluginMembers } from './dataset.js';
import type { Evaluator } from './evaluator.js';
import type { TripletLossFunction } from './loss.js';
import type { MethodCreateContext, MtlModel } from './method.js';
import type { Weighting, WeightingCreateContext } from './weighting.js';

export type * from './backend.js';
export type * from './backbone.js';
export type * from './method.js';
export type * from './loss.js';
export type * from './dataset.js';
export type * from './evaluator.js';
export type * from './weighting.js';
export { SPLIT_NAMES } from './dataset.js';

type NoContext = Record<string, never>;

/** What a plugin of each kind creates. */
export interface InstanceByKind {
  backend: BackendEngine;
  backbone: BackboneFactory;
  method: MtlModel;
  loss: TripletLossFunction;
  dataset: Dataset;
  evaluator: Evaluator;
  weighting: Weighting;
}

/** What a plugin of each kind is given besides its options. */
export interface ContextByKind {
  backend: NoContext;
  backbone: NoContext;
  method: MethodCreateContext;
  loss: NoContext;
  dataset: DatasetCreateContext;
  evaluator: NoContext;
  weighting: WeightingCreateContext;
}

/** Members a plugin of a kind may have besides those every plugin has (src/plugin/types.ts). */
type MembersOf<K extends PluginKind, O> = K extends 'dataset' ? DatasetPluginMembers<O> : unknown;

export type PluginOf<K extends PluginKind, O> = PluginDefinition<K, O, InstanceByKind[K], ContextByKind[K]> &
  MembersOf<K, O>;

/** A plugin of some kind with options of any type, as registries hold them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPluginOf<K extends PluginKind> = PluginOf<K, any>;
