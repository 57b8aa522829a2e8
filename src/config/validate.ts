/**
 * Strict validation: the config's own shape first, then every plugin reference against its registry and
 * the plugin's own options schema, then each plugin's cross-field `check`. All problems are collected
 * and reported together, each as `file: dotted.path: what was expected`.
 */
import { ConfigError, MtlzooError, dottedPath, type ConfigIssue } from '../errors.js';
import type { BackboneDescription } from '../kinds/backbone.js';
import type { PluginRegistries } from '../plugin/registry.js';
import type { CheckContext, PluginKind } from '../plugin/types.js';
import {
  AUTO_BACKEND,
  configSchema,
  PLUGIN_REF_FIELDS,
  type ExperimentConfig,
  type PluginRef,
} from './schema.js';
import { zodIssues, type PathIssue } from './issues.js';
import { displayPath, type KeyPath, type MergedConfig } from './resolve.js';

export function locateIssue(merged: MergedConfig, issue: PathIssue): ConfigIssue {
  const source = merged.sourceOf(issue.path);
  const line = source.lineOf(issue.path);
  return {
    file: displayPath(source.file),
    path: dottedPath(issue.path),
    message: line === undefined ? issue.message : `${issue.message} (line ${line})`,
  };
}

interface RefSlot {
  kind: PluginKind;
  path: KeyPath;
  ref: PluginRef;
}

function refSlots(config: ExperimentConfig): RefSlot[] {
  const slots: RefSlot[] = PLUGIN_REF_FIELDS.map((field) => ({
    kind: field,
    path: [field],
    ref: config[field],
  }));
  config.evaluators.forEach((ref, i) => slots.push({ kind: 'evaluator', path: ['evaluators', i], ref }));
  return slots;
}

/** Validates merged config data; returns the resolved config with every default filled in. */
export function validateConfig(merged: MergedConfig, registries: PluginRegistries): ExperimentConfig {
  const parsed = configSchema.safeParse(merged.data);
  if (!parsed.success) {
    throw new ConfigError(
      zodIssues(configSchema, parsed.error, merged.data).map((i) => locateIssue(merged, i)),
    );
  }
  const config = parsed.data;
  const issues: PathIssue[] = [];
  const validOptions = new Map<RefSlot, unknown>();

  for (const slot of refSlots(config)) {
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
    const schema = registry.get(slot.ref.name).options;
    const result = schema.safeParse(slot.ref.options);
    if (result.success) {
      validOptions.set(slot, result.data);
      slot.ref.options = result.data as Record<string, unknown>;
    } else {
      issues.push(...zodIssues(schema, result.error, slot.ref.options, [...slot.path, 'options']));
    }
  }

  // Cross-field checks see the backbone's description when the backbone itself validated.
  const context: CheckContext = {};
  const backboneSlot = [...validOptions.keys()].find((s) => s.kind === 'backbone');
  if (backboneSlot)
    context.backbone = describeBackbone(registries, backboneSlot.ref.name, backboneSlot.ref.options);
  for (const [slot, options] of validOptions) {
    const plugin = registries.of(slot.kind).get(slot.ref.name);
    for (const issue of plugin.check?.(options, context) ?? []) {
      issues.push({ path: [...slot.path, 'options', ...issue.path], message: issue.message });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues.map((i) => locateIssue(merged, i)));
  return config;
}

export function describeBackbone(
  registries: PluginRegistries,
  name: string,
  options: Record<string, unknown>,
): BackboneDescription {
  const factory = registries.of('backbone').get(name).create(options, {});
  if (factory instanceof Promise) {
    throw new MtlzooError(
      'PLUGIN_INVALID',
      `backbone "${name}": create() must return its factory synchronously`,
    );
  }
  return factory.description;
}
