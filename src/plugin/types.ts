/**
 * The plugin contract: every swappable part of mtlzoo is an explicit object with identity (name, kind,
 * version), an options schema, and a factory. Registration is declared, never an import side effect.
 */
import type { z } from 'zod';
import type { BackboneDescription } from '../kinds/backbone.js';

export const PLUGIN_KINDS = [
  'backend',
  'backbone',
  'method',
  'loss',
  'dataset',
  'evaluator',
  'weighting',
] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** A problem found by a plugin's own cross-field check, relative to the plugin's `options`. */
export interface OptionIssue {
  path: readonly (string | number)[];
  message: string;
}

/** Where a plugin came from, shown in `mtlzoo plugins` and in duplicate-name errors. */
export type PluginSource = string;

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** A progress line that may be overwritten; no-op when not on a TTY. */
  progress(message: string): void;
}

export interface PluginDefinition<K extends PluginKind, Options, Instance, Context> {
  readonly kind: K;
  /** Lower-case, dash-separated; unique within its kind. */
  readonly name: string;
  /** Semver of the plugin itself, recorded in every run's environment. */
  readonly version: string;
  readonly description: string;
  /** Strict schema: unknown keys are errors; defaults fill the resolved config. */
  readonly options: z.ZodType<Options>;
  /** Checks that need more than the plugin's own options (e.g. a stage name against the backbone). */
  check?(options: Options, context: CheckContext): OptionIssue[];
  create(options: Options, context: Context): Instance | Promise<Instance>;
}

/** What a plugin's `check` may look at besides its own options. Absent parts were invalid themselves. */
export interface CheckContext {
  /** Description of the configured backbone, when it validated. */
  backbone?: BackboneDescription;
}
