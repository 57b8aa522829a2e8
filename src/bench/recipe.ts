/**
 * A zoo entry's recipe: one base experiment config, the methods to compare on it, the seeds, which
 * metrics the comparison reports, and optionally a grid of config values to sweep. Every method runs under
 * the base config's settings (at each grid point), so the only difference between rows is the method (and
 * the point).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readConfigSource } from '../config/read.js';
import { zodIssues } from '../config/issues.js';
import { displayPath } from '../util/paths.js';
import { ConfigError, dottedPath, type ConfigIssue } from '../errors.js';

export const RECIPE_FILE = 'recipe.yaml';

/** A plugin reference: a name, or `{ name, options }`. */
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
        /** The row's weighting strategy (`train.weighting`); the base config's when absent. */
        weighting: methodRef.optional(),
      }),
    )
    .min(1),
  /** Label of the row Δm is measured against (the paper's reference: independent networks). */
  baseline: z.string().optional(),
  /** Metrics (over all tasks, and per task for Δm) the table shows. */
  metrics: z.array(z.string().min(1)).min(1).default(['triplet-accuracy', 'mAP@10']),
  /** What the entry needs that the project cannot generate (real data sets), shown before running. */
  requires: z.string().optional(),
  /**
   * Config values to sweep, by dotted path (`train.optimizer.lr: [0.001, 0.003]`): every method runs at
   * every combination (a row per method and point).
   */
  grid: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/, 'a dotted config path such as train.optimizer.lr'),
      z.array(z.unknown()).min(1, 'at least one value'),
    )
    .optional(),
});

/** Grid keys the recipe sets otherwise (`seeds`, `methods`) or that cannot be swept. */
const RESERVED_GRID_KEYS: Readonly<Record<string, string>> = {
  seed: 'seeds are listed under seeds',
  extends: "the base config is the recipe's config",
  method: 'methods are listed under methods; sweep method.options.* instead',
  'method.name': 'methods are listed under methods; sweep method.options.* instead',
};

/** The method label of a bench row's label (`modulation@lr=0.001` → `modulation`). */
export function methodLabelOf(rowLabel: string): string {
  return rowLabel.split('@')[0]!;
}

export type Recipe = z.output<typeof recipeSchema>;

export interface LoadedRecipe {
  readonly name: string;
  /** Folder of the entry (results are recorded here). */
  readonly dir: string;
  readonly file: string;
  readonly recipe: Recipe;
  /** Absolute path of the base config. */
  readonly configFile: string;
  /** 1-based line of the value at `keyPath` in the recipe file, when the format keeps positions. */
  lineOf(keyPath: readonly (string | number)[]): number | undefined;
  /** The file name errors show. */
  readonly shown: string;
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
  const issues: ConfigIssue[] = [];
  const labels = recipe.methods.map((m) => m.label);
  labels.forEach((label, i) => {
    if (labels.indexOf(label) !== i)
      issues.push({ file: shown, path: `methods[${i}].label`, message: `"${label}" is used twice` });
  });
  for (const key of Object.keys(recipe.grid ?? {})) {
    const reason = RESERVED_GRID_KEYS[key];
    const line = source.lineOf(['grid', key]);
    if (reason)
      issues.push({
        file: shown,
        path: `grid.${key}`,
        message: `cannot be swept: ${reason}${line === undefined ? '' : ` (line ${line})`}`,
      });
  }
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
  return {
    name: path.basename(path.dirname(file)),
    dir: path.dirname(file),
    file,
    recipe,
    configFile,
    lineOf: source.lineOf,
    shown,
  };
}
