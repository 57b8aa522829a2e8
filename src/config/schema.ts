/**
 * The shape of an experiment config. Plugin options are checked in a second pass by each plugin's own
 * schema (see validate.ts); here they are only "a mapping".
 */
import { z } from 'zod';
import { AUTO_BACKEND } from '../kinds/backend.js';
import { trainSchema } from './train-schema.js';

export const pluginRefSchema = z.strictObject({
  name: z.string().min(1),
  options: z.record(z.string(), z.unknown()).default({}),
});

export type PluginRef = z.output<typeof pluginRefSchema>;

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
