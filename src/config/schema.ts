/**
 * The shape of an experiment config. Plugin options are checked in a second pass by each plugin's own
 * schema (see validate.ts); here they are only "a mapping".
 */
import { z } from 'zod';
import { AUTO_BACKEND } from '../kinds/backend.js';
import type { PluginKind } from '../plugin/types.js';
import { pluginRefSchema, type PluginRef } from './plugin-ref.js';
import { trainSchema } from './train-schema.js';

export { pluginRefSchema, type PluginRef } from './plugin-ref.js';

export const DEFAULT_EVALUATORS: readonly PluginRef[] = [
  { name: 'triplet-accuracy', options: {} },
  { name: 'retrieval', options: {} },
  { name: 'storage', options: {} },
];

export const configSchema = z.strictObject({
  /** Seeds weights, data generation and sampling. */
  seed: z.int().min(0).default(0),
  /** Third-party plugin modules: local paths (relative to this file) or npm package names. */
  plugins: z.array(z.string().min(1)).default([]),
  backend: pluginRefSchema.prefault({ name: AUTO_BACKEND }),
  backbone: pluginRefSchema,
  method: pluginRefSchema,
  loss: pluginRefSchema.prefault({ name: 'triplet' }),
  dataset: pluginRefSchema,
  evaluators: z.array(pluginRefSchema).default(() => DEFAULT_EVALUATORS.map((e) => ({ ...e }))),
  train: trainSchema.prefault({}),
  output: z
    .strictObject({
      /** Run directories are created under here (relative to the working directory). */
      dir: z.string().min(1).default('runs'),
      /** Decoded-image and generated-data caches (relative to the working directory). */
      cacheDir: z.string().min(1).default('.cache/mtlzoo'),
    })
    .prefault({}),
});

export type ExperimentConfig = z.output<typeof configSchema>;

/** Top-level keys that hold one plugin reference, in build order. */
export const PLUGIN_REF_FIELDS = ['backend', 'backbone', 'method', 'loss', 'dataset'] as const;

/**
 * Every place a config holds plugin references (the one list the loader, validator and path resolver
 * share): a key path, the kind it refers to, and whether it holds a list of references.
 */
export const PLUGIN_REF_LOCATIONS: readonly {
  readonly path: readonly string[];
  readonly kind: PluginKind;
  readonly list?: true;
}[] = [
  ...PLUGIN_REF_FIELDS.map((kind) => ({ path: [kind], kind })),
  { path: ['evaluators'], kind: 'evaluator', list: true },
  { path: ['train', 'weighting'], kind: 'weighting' },
];

/** The plugin references in config data (raw or parsed): where each is, its kind and its value. */
export function pluginRefsIn(data: unknown): { at: (string | number)[]; kind: PluginKind; value: unknown }[] {
  const at = (keyPath: readonly string[]) =>
    keyPath.reduce<unknown>(
      (node, key) =>
        typeof node === 'object' && node !== null && !Array.isArray(node)
          ? (node as Record<string, unknown>)[key]
          : undefined,
      data,
    );
  return PLUGIN_REF_LOCATIONS.flatMap(({ path, kind, list }) => {
    const value = at(path);
    if (!list) return [{ at: [...path], kind, value }];
    return Array.isArray(value) ? value.map((item, i) => ({ at: [...path, i], kind, value: item })) : [];
  });
}
