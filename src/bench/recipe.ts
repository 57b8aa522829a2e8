/**
 * A zoo entry's recipe: one base experiment config, the methods to compare on it, the seeds, and which
 * metrics the comparison reports. Every method runs under the base config's settings, so the only
 * difference between rows is the method.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readConfigSource } from '../config/read.js';
import { zodIssues } from '../config/issues.js';
import { displayPath } from '../util/paths.js';
import { ConfigError, dottedPath } from '../errors.js';

export const RECIPE_FILE = 'recipe.yaml';

const methodRef = z.union([
  z.string().min(1),
  z.strictObject({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) }),
]);

export const recipeSchema = z.strictObject({
  description: z.string().min(1),
  /** Base experiment config, relative to the recipe. */
  config: z.string().min(1),
  seeds: z.array(z.int().nonnegative()).min(1).default([0]),
  methods: z
    .array(
      z.strictObject({
        /** Row name; also the run folder name. */
        label: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
        method: methodRef,
      }),
    )
    .min(1),
  /** Label of the row Δm is measured against (the paper's reference: independent networks). */
  baseline: z.string().optional(),
  /** Metrics (over all tasks, and per task for Δm) the table shows. */
  metrics: z.array(z.string().min(1)).min(1).default(['triplet-accuracy', 'mAP@10']),
  /** What the entry needs that the project cannot generate (real data sets), shown before running. */
  requires: z.string().optional(),
});

export type Recipe = z.output<typeof recipeSchema>;

export interface LoadedRecipe {
  readonly name: string;
  /** Folder of the entry (results are recorded here). */
  readonly dir: string;
  readonly file: string;
  readonly recipe: Recipe;
  /** Absolute path of the base config. */
  readonly configFile: string;
}

/** Loads `zoo/ENTRY` (a folder holding recipe.yaml) or a recipe file. */
export async function loadRecipe(entry: string): Promise<LoadedRecipe> {
  const target = path.resolve(entry);
  const file = existsSync(target) && statSync(target).isDirectory() ? path.join(target, RECIPE_FILE) : target;
  const shown = displayPath(file);
  if (!existsSync(file)) {
    throw new ConfigError([
      { file: shown, path: '', message: `no zoo recipe here (expected ${RECIPE_FILE})` },
    ]);
  }
  const source = await readConfigSource(file, shown);
  const parsed = recipeSchema.safeParse(source.data);
  if (!parsed.success) {
    throw new ConfigError(
      zodIssues(recipeSchema, parsed.error, source.data).map((issue) => {
        const line = source.lineOf(issue.path);
        return {
          file: shown,
          path: dottedPath(issue.path),
          message: line === undefined ? issue.message : `${issue.message} (line ${line})`,
        };
      }),
    );
  }
  const recipe = parsed.data;
  const issues = [];
  const labels = recipe.methods.map((m) => m.label);
  labels.forEach((label, i) => {
    if (labels.indexOf(label) !== i)
      issues.push({ file: shown, path: `methods[${i}].label`, message: `"${label}" is used twice` });
  });
  if (recipe.baseline !== undefined && !labels.includes(recipe.baseline)) {
    issues.push({
      file: shown,
      path: 'baseline',
      message: `expected one of the method labels (${labels.join(', ')}), got "${recipe.baseline}"`,
    });
  }
  const configFile = path.resolve(path.dirname(file), recipe.config);
  if (!existsSync(configFile))
    issues.push({
      file: shown,
      path: 'config',
      message: `base config not found: ${recipe.config} (resolved to ${configFile})`,
    });
  if (issues.length > 0) throw new ConfigError(issues);
  return { name: path.basename(path.dirname(file)), dir: path.dirname(file), file, recipe, configFile };
}
