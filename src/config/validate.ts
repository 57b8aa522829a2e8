/**
 * Strict validation: the config's own shape first, then every plugin reference against its registry and
 * the plugin's own options schema, then each plugin's cross-field `check`. All problems are collected
 * and reported together, each as `file: dotted.path: what was expected`.
 */
import { ConfigError, dottedPath, type ConfigIssue, type MtlzooError } from '../errors.js';
import type { BackboneDescription } from '../kinds/backbone.js';
import { runPluginCode, type PluginRegistries } from '../plugin/registry.js';
import type { CheckContext, PluginKind } from '../plugin/types.js';
import { AUTO_BACKEND } from '../kinds/backend.js';
import {
  configSchema,
  pluginRefsIn,
  pluginRefSchema,
  type ExperimentConfig,
  type PluginRef,
} from './schema.js';
import { valueAt, zodIssues, type PathIssue } from './issues.js';
import type { KeyPath, MergedConfig } from './resolve.js';
import { displayPath } from '../util/paths.js';

export function locateIssue(merged: MergedConfig, issue: PathIssue): ConfigIssue {
  const source = merged.sourceOf(issue.path);
  const line = source.lineOf(issue.path);
  return {
    file: displayPath(source.file),
    path: dottedPath(issue.path),
    message: line === undefined ? issue.message : `${issue.message} (line ${line})`,
  };
}

/**
 * An issue with a value no file set (a default): it is located in the file the user named, not in a base
 * that happens to set a neighbouring key, and says how to set it.
 */
export function defaultIssue(
  merged: MergedConfig,
  keyPath: KeyPath,
  value: unknown,
  message: string,
): ConfigIssue {
  return {
    file: displayPath(merged.file),
    path: dottedPath(keyPath),
    message: `not set, so it is the default ${JSON.stringify(value)}: ${message}; set ${dottedPath(keyPath)} in this file`,
  };
}

/** Whether some file of the chain set the value at `keyPath` (otherwise it is a default). */
export function isSet(merged: MergedConfig, keyPath: KeyPath): boolean {
  return valueAt(merged.data, keyPath) !== undefined;
}

interface RefSlot {
  kind: PluginKind;
  path: KeyPath;
  ref: PluginRef;
}

/**
 * The plugin references to check. From a config whose shape failed, the references that are well formed
 * on their own are still checked, so one run reports every problem.
 */
function refSlots(data: Record<string, unknown>): RefSlot[] {
  const slots: RefSlot[] = [];
  for (const { at, kind, value } of pluginRefsIn(data)) {
    const parsed = pluginRefSchema.safeParse(value);
    if (parsed.success) slots.push({ kind, path: at, ref: parsed.data });
  }
  return slots;
}

/** Validates merged config data; returns the resolved config with every default filled in. */
export function validateConfig(merged: MergedConfig, registries: PluginRegistries): ExperimentConfig {
  const parsed = configSchema.safeParse(merged.data);
  const issues: PathIssue[] = parsed.success ? [] : zodIssues(configSchema, parsed.error, merged.data);
  // The references of the parsed config (defaults filled), or the raw ones when the shape failed.
  const slots = refSlots(parsed.success ? parsed.data : merged.data);
  const validOptions = new Map<RefSlot, Record<string, unknown>>();

  for (const slot of slots) {
    if (slot.kind === 'backend' && slot.ref.name === AUTO_BACKEND) continue;
    const registry = registries.of(slot.kind);
    if (!registry.has(slot.ref.name)) {
      try {
        registry.get(slot.ref.name);
      } catch (error) {
        const extra = slot.kind === 'backend' ? ` (or "${AUTO_BACKEND}")` : '';
        issues.push({ path: [...slot.path, 'name'], message: (error as MtlzooError).message + extra });
      }
      continue;
    }
    const entry = registry.entry(slot.ref.name);
    const schema = entry.plugin.options;
    const result = runPluginCode(slot.kind, entry, 'options schema', () =>
      schema.safeParse(slot.ref.options),
    );
    if (result.success) validOptions.set(slot, result.data as Record<string, unknown>);
    else {
      const owner = `${slot.kind} "${slot.ref.name}"`;
      issues.push(...zodIssues(schema, result.error, slot.ref.options, [...slot.path, 'options'], owner));
    }
  }

  // Cross-field checks see the backbone's description when the backbone itself validated.
  const context: CheckContext = {};
  for (const [slot, options] of validOptions) {
    if (slot.kind === 'backbone') context.backbone = describeBackbone(registries, slot.ref.name, options);
  }
  for (const [slot, options] of validOptions) {
    const entry = registries.of(slot.kind).entry(slot.ref.name);
    const found = runPluginCode(
      slot.kind,
      entry,
      'check',
      () => entry.plugin.check?.(options, context) ?? [],
    );
    for (const issue of found) {
      issues.push({ path: [...slot.path, 'options', ...issue.path], message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) {
    throw new ConfigError(issues.map((i) => locateIssue(merged, i)));
  }
  // The checked options (defaults filled) replace the raw ones.
  const config = parsed.data;
  for (const [slot, options] of validOptions) (valueAt(config, slot.path) as PluginRef).options = options;
  return config;
}

export function describeBackbone(
  registries: PluginRegistries,
  name: string,
  options: Record<string, unknown>,
): BackboneDescription {
  return registries.buildSync('backbone', { name, options }, {}).description;
}
