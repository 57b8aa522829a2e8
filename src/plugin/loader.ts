/**
 * Loads third-party plugins named in a config's `plugins:` list through the same door as built-ins: a
 * module whose default export (or named export `plugins`) is one plugin or an array of plugins.
 *
 * - A spec starting with `.` or `/` is a local path (file or folder), resolved against the config file.
 * - Anything else is an npm package name, resolved from the config file's folder (its node_modules).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { MtlzooError } from '../errors.js';
import { importUserModule } from '../util/user-module.js';
import type { PluginRegistries } from './registry.js';

export interface LoadedModule {
  spec: string;
  source: string;
  pluginCount: number;
}

/** A local path (as opposed to an npm package name). */
export function isPathSpec(spec: string): boolean {
  return spec.startsWith('.') || path.isAbsolute(spec);
}

/** Resolves a spec to the file to import and a human-readable source label. */
export function resolvePluginSpec(spec: string, baseDir: string): { file: string; source: string } {
  if (isPathSpec(spec)) {
    const target = path.resolve(baseDir, spec);
    if (!existsSync(target)) {
      throw new MtlzooError('PLUGIN_LOAD', `plugin path not found: ${spec} (resolved to ${target})`);
    }
    // A folder is loaded like a package: through its package.json or index file.
    let file = target;
    if (statSync(target).isDirectory()) {
      try {
        file = createRequire(path.join(target, 'noop.js')).resolve(target);
      } catch {
        throw new MtlzooError(
          'PLUGIN_LOAD',
          `plugin folder ${spec} (${target}) has no entry point: expected a package.json with "main" or "exports", or an index.js`,
        );
      }
    }
    return { file, source: `path:${target}` };
  }
  const require = createRequire(path.join(baseDir, 'noop.js'));
  let file: string;
  try {
    file = require.resolve(spec);
  } catch {
    throw new MtlzooError(
      'PLUGIN_LOAD',
      `plugin package "${spec}" is not installed where the config can see it (searched node_modules from ${baseDir}); install it with npm install ${spec}`,
    );
  }
  return { file, source: `npm:${spec}@${packageVersion(file, spec)}` };
}

function packageVersion(entryFile: string, name: string): string {
  let dir = path.dirname(entryFile);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? '0.0.0';
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

function pluginsOf(moduleExports: Record<string, unknown>): unknown[] {
  const exported = moduleExports.plugins ?? moduleExports.default;
  if (exported === undefined) return [];
  return Array.isArray(exported) ? exported : [exported];
}

export async function loadPluginModule(
  spec: string,
  baseDir: string,
  registries: PluginRegistries,
): Promise<LoadedModule> {
  const { file, source } = resolvePluginSpec(spec, baseDir);
  let moduleExports: Record<string, unknown>;
  try {
    moduleExports = await importUserModule(file);
  } catch (error) {
    throw new MtlzooError(
      'PLUGIN_LOAD',
      `could not load plugin ${spec} (${file}): ${(error as Error).message}`,
    );
  }
  const plugins = pluginsOf(moduleExports);
  if (plugins.length === 0) {
    throw new MtlzooError(
      'PLUGIN_INVALID',
      `${source}: exports no plugin; export a plugin or an array of plugins as default or as \`plugins\``,
    );
  }
  for (const plugin of plugins) registries.register(plugin, source);
  return { spec, source, pluginCount: plugins.length };
}
