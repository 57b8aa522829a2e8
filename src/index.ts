/**
 * mtlzoo's public API. Plugin authors need `definePlugin`, `z` (the schema library option schemas are
 * written in), `tf` (the same TensorFlow.js engine mtlzoo runs on), the kind contracts and the building
 * blocks of `mtlzoo/nn` (re-exported here); programs that embed mtlzoo use the Kernel and the run functions
 * (train, resume, evaluate, bench, retrieve), the same ones the CLI calls. The plugin contract-test
 * harnesses are at `mtlzoo/testing`.
 */
export { z } from 'zod';
export * as tf from './tf.js';
export type * from './kinds/index.js';
export { SPLIT_NAMES } from './kinds/index.js';
export { definePlugin } from './plugin/define.js';
export { PLUGIN_KINDS } from './plugin/types.js';
export type { CheckContext, Logger, OptionIssue, PluginDefinition, PluginKind } from './plugin/types.js';
export { PluginRegistries, Registry } from './plugin/registry.js';
export { Kernel, type Experiment, type KernelOptions } from './kernel/kernel.js';
export { TOKENS } from './kernel/tokens.js';
export type { LoadedConfig } from './config/load.js';
export type { ExperimentConfig, PluginRef } from './config/schema.js';
export { configRelativePath } from './config/paths.js';
export { checkSplits, splitProblems } from './data/check.js';
export {
  ConfigError,
  ERROR_CODES,
  MtlzooError,
  isMtlzooError,
  type ConfigIssue,
  type ErrorCode,
} from './errors.js';
export * from './nn/index.js';
export { selectBackend, type BackendChoice } from './backend/select.js';
export {
  trainRun,
  resumeRun,
  evaluateRun,
  type RunEvaluation,
  type RunOptions,
  type TrainRunOptions,
} from './engine/run.js';
export { Trainer, InterruptedError, type TrainSummary } from './engine/trainer.js';
export {
  HOOK_KINDS,
  type BackwardPass,
  type CheckpointEvent,
  type EvalRecord,
  type StepRecord,
  type TaskGradients,
  type TaskLosses,
  type TrainerHook,
  type TrainingContext,
} from './engine/hooks.js';
export type { HookState, JsonValue } from './engine/checkpoint.js';
export { runBench, type BenchOptions, type BenchResults, type BenchRow } from './bench/bench.js';
export { loadRecipe, type LoadedRecipe, type Recipe } from './bench/recipe.js';
export { retrieve, type RetrievalResult, type RetrieveOptions } from './retrieval/retrieve.js';
export {
  addToIndex,
  buildIndex,
  removeFromIndex,
  type AnnOptions,
  type BuildIndexOptions,
} from './retrieval/build.js';
export { IndexFolder } from './retrieval/index-folder.js';
export type { IndexManifest } from './retrieval/manifest.js';
export { RunModel } from './retrieval/model.js';
export { searchIndex, type SearchHit, type SearchMode } from './retrieval/search.js';
export { exactSearch, type Neighbours } from './retrieval/exact.js';
export { Rng } from './util/random.js';
export * from './weighting/index.js';
