/**
 * Finds and loads an experiment config: an explicit file, or cosmiconfig's search for module name
 * `mtlzoo` (mtlzoo.config.{json,yaml,js,ts}, .mtlzoorc*, a `mtlzoo` key in package.json).
 *
 * A JS/TS config is code that runs, so the search never leaves the current folder's project: it walks up
 * from the working directory to the folder holding package.json and stops there; outside any project it
 * looks in the working directory only. A `.mtlzoorc.mjs` planted in a parent folder (a shared /tmp, a home
 * directory) is never found, let alone run.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cosmiconfig, getDefaultSearchPlaces } from 'cosmiconfig';
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { PluginFile } from '../plugin/record.js';
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
  /** The plugin files the config loaded, with their content hashes (recorded in every run folder). */
  readonly pluginFiles: readonly PluginFile[];
}

const located = () => ({ located: true });

/** The nearest folder at or above `dir` holding a package.json: the project's root. */
export function projectRoot(dir: string): string | undefined {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (existsSync(path.join(current, 'package.json'))) return current;
    if (path.dirname(current) === current) return undefined;
  }
}

/** The config file found from `cwd` up to its project's root (in `cwd` only outside a project), if any. */
export async function searchConfigFile(cwd: string): Promise<string | undefined> {
  const explorer = cosmiconfig(MODULE_NAME, {
    // 'project' walks up to the first folder holding a package.json, and would go on to / without one.
    searchStrategy: projectRoot(cwd) === undefined ? 'none' : 'project',
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

export function loadedConfig(
  merged: MergedConfig,
  config: ExperimentConfig,
  pluginFiles: readonly PluginFile[],
): LoadedConfig {
  return {
    file: merged.file,
    files: merged.files,
    config,
    hash: configHash(config),
    issueAt: (keyPath, message) => locateIssue(merged, { path: keyPath, message }),
    pluginFiles,
  };
}
