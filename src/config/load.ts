/**
 * Finds and loads an experiment config: an explicit file, or cosmiconfig's search for module name
 * `mtlzoo` (mtlzoo.config.{json,yaml,js,ts}, .mtlzoorc*, a `mtlzoo` key in package.json).
 */
import path from 'node:path';
import { cosmiconfig, getDefaultSearchPlaces } from 'cosmiconfig';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { configHash } from './hash.js';
import type { ExperimentConfig } from './schema.js';
import type { MergedConfig } from './resolve.js';
import { locateIssue } from './validate.js';

export const MODULE_NAME = 'mtlzoo';

export interface LoadedConfig {
  /** Absolute path of the file the user named or the search found. */
  readonly file: string;
  /** Every file read, that one first, then its bases. */
  readonly files: readonly string[];
  readonly config: ExperimentConfig;
  /** Content hash of the resolved config (see hash.ts). */
  readonly hash: string;
  /** A config issue at `keyPath`, located in the file that set it, for checks made after loading. */
  issueAt(keyPath: readonly (string | number)[], message: string): ConfigIssue;
}

const located = () => ({ located: true });

/** The config file cosmiconfig finds from `cwd` up to the project root, if any. */
export async function searchConfigFile(cwd: string): Promise<string | undefined> {
  const explorer = cosmiconfig(MODULE_NAME, {
    searchStrategy: 'project',
    // cosmiconfig's defaults plus mtlzoo.config.{json,yaml,yml}, the form ML configs usually take.
    searchPlaces: [
      ...getDefaultSearchPlaces(MODULE_NAME),
      `${MODULE_NAME}.config.json`,
      `${MODULE_NAME}.config.yaml`,
      `${MODULE_NAME}.config.yml`,
    ],
    // Only locate script configs here (a non-empty marker keeps the search from skipping them): read.ts
    // imports them, so every format is read, and reports errors, one way.
    loaders: { '.ts': located, '.js': located, '.mjs': located, '.cjs': located },
  });
  const result = await explorer.search(cwd);
  return result?.filepath;
}

/** Plugin module specs with the folder each must be resolved from (the file that named it). */
export function pluginSpecs(merged: MergedConfig): { spec: string; baseDir: string }[] {
  const list = merged.data.plugins;
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    throw new ConfigError([
      locateIssue(merged, { path: ['plugins'], message: 'expected a list of plugin paths or package names' }),
    ]);
  }
  return list.map((spec, i) => ({ spec, baseDir: path.dirname(merged.sourceOf(['plugins', i]).file) }));
}

export function loadedConfig(merged: MergedConfig, config: ExperimentConfig): LoadedConfig {
  return {
    file: merged.file,
    files: merged.files,
    config,
    hash: configHash(config),
    issueAt: (keyPath, message) => locateIssue(merged, { path: keyPath, message }),
  };
}
