/**
 * Config values that are file paths, resolved like `extends` and `plugins`: against the folder of the
 * config file that set them, so a config means the same data from any working directory. A plugin marks
 * such an option with `configRelativePath`; `output.cacheDir` is one too. Once resolved the paths are
 * absolute (the config saved in a run directory still finds the data), and they are left out of the
 * config hash: where the data lies is not part of the experiment, like `output` and `plugins`.
 */
import path from 'node:path';
import { z } from 'zod';
import type { PluginRegistries } from '../plugin/registry.js';
import { isPlainObject, type KeyPath, type MergedConfig } from './resolve.js';
import { defOf, resolveSchema, valueAt } from './issues.js';
import { pluginRefsIn, type ExperimentConfig, type PluginRef } from './schema.js';

const relativePaths = z.registry<{ relativeTo: 'config file' }>();

/** Marks a string option as a path relative to the config file that sets it. */
export function configRelativePath<S extends z.ZodType<string>>(schema: S): S {
  relativePaths.add(schema, { relativeTo: 'config file' });
  return schema;
}

/** Key paths (below `at`) of the path options `schema` marks that `value` holds. */
function markedPaths(schema: z.ZodType, value: unknown, at: KeyPath): KeyPath[] {
  const inner = resolveSchema(schema, value, (s) => relativePaths.has(s));
  if (relativePaths.has(inner)) return typeof value === 'string' ? [at] : [];
  const def = defOf(inner);
  if (def.shape && isPlainObject(value)) {
    return Object.entries(def.shape).flatMap(([key, child]) =>
      key in value ? markedPaths(child, value[key], [...at, key]) : [],
    );
  }
  if (def.element && Array.isArray(value)) {
    return value.flatMap((item, i) => markedPaths(def.element!, item, [...at, i]));
  }
  return [];
}

function setAt(root: unknown, keyPath: KeyPath, value: unknown): void {
  const parent = valueAt(root, keyPath.slice(0, -1)) as Record<string | number, unknown>;
  parent[keyPath.at(-1)!] = value;
}

/**
 * Makes every path option of `config` that a file set absolute, against that file's folder; values that
 * are defaults stay relative to the working directory. Returns the key paths of plugin options resolved
 * (to be left out of the hash).
 */
export function resolveConfigPaths(
  merged: MergedConfig,
  config: ExperimentConfig,
  registries: PluginRegistries,
): KeyPath[] {
  const resolveAt = (keyPath: KeyPath) => {
    // Only a value some file wrote is resolved against that file; a filled-in default is not.
    if (valueAt(merged.data, keyPath) === undefined) return false;
    const value = valueAt(config, keyPath) as string;
    setAt(config, keyPath, path.resolve(path.dirname(merged.sourceOf(keyPath).file), value));
    return true;
  };
  resolveAt(['output', 'cacheDir']);
  const resolved: KeyPath[] = [];
  for (const { at, kind, value } of pluginRefsIn(config)) {
    const ref = value as PluginRef;
    const registry = registries.of(kind);
    if (!registry.has(ref.name)) continue;
    const optionsAt = [...at, 'options'];
    for (const keyPath of markedPaths(registry.get(ref.name).options, ref.options, optionsAt)) {
      if (resolveAt(keyPath)) resolved.push(keyPath);
    }
  }
  return resolved;
}
