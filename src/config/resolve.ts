/**
 * Resolves a config file's `extends:` chain into one mapping. Bases merge first, in list order; the file
 * itself overrides them. Mappings merge key by key; lists and scalars replace; a mapping whose variant
 * key (`name` of a plugin reference, `type` of an optimiser or schedule) changes is replaced whole, since the
 * options of one variant mean nothing to another. Every key
 * remembers the file that set it, so a later error names that file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, dottedPath } from '../errors.js';
import { displayPath } from '../util/paths.js';
import { readConfigSource, type ConfigSource } from './read.js';
import { pluginRefsIn } from './schema.js';

export type KeyPath = readonly (string | number)[];

export interface MergedConfig {
  readonly data: Record<string, unknown>;
  /** The file the user named (first in the chain). */
  readonly file: string;
  /** Every file read, the named one first. */
  readonly files: readonly string[];
  /** The source that set the value at a path (the deepest known prefix). */
  sourceOf(keyPath: KeyPath): ConfigSource;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `method: modulation` is shorthand for `method: { name: modulation }`, wherever a reference goes. */
function normaliseRefs(data: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(data);
  for (const { at, value } of pluginRefsIn(out)) {
    if (typeof value !== 'string') continue;
    const parent = at
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>(
        (node, key) => node[key] as Record<string | number, unknown>,
        out,
      );
    parent[at.at(-1)!] = { name: value };
  }
  return out;
}

type OriginOf = (keyPath: KeyPath) => ConfigSource;

class Origins {
  private readonly map = new Map<string, ConfigSource>();

  /** Records where `value` at `keyPath` (and everything inside it) came from. */
  set(keyPath: KeyPath, value: unknown, originOf: OriginOf): void {
    const key = dottedPath(keyPath);
    // A replaced subtree forgets where its old leaves came from.
    for (const existing of [...this.map.keys()]) {
      if (existing.startsWith(`${key}.`) || existing.startsWith(`${key}[`)) this.map.delete(existing);
    }
    this.map.set(key, originOf(keyPath));
    if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) this.set([...keyPath, k], v, originOf);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.set([...keyPath, i], v, originOf));
    }
  }

  lookup(keyPath: KeyPath): ConfigSource | undefined {
    for (let depth = keyPath.length; depth > 0; depth--) {
      const found = this.map.get(dottedPath(keyPath.slice(0, depth)));
      if (found) return found;
    }
    return undefined;
  }
}

interface Layer {
  data: Record<string, unknown>;
  origins: Origins;
}

/**
 * Keys that say which variant a mapping is: a plugin's `name`, an optimiser's or schedule's `type`. When an
 * override changes one, the options of the old variant mean nothing to the new one.
 */
const VARIANT_KEYS = ['name', 'type'] as const;

function switchesVariant(current: Record<string, unknown>, override: Record<string, unknown>): boolean {
  return VARIANT_KEYS.some((key) => key in override && override[key] !== current[key]);
}

function mergeInto(target: Layer, override: Record<string, unknown>, originOf: OriginOf): void {
  const walk = (into: Record<string, unknown>, from: Record<string, unknown>, at: KeyPath) => {
    for (const [key, value] of Object.entries(from)) {
      const current = into[key];
      const renamed = isPlainObject(current) && isPlainObject(value) && switchesVariant(current, value);
      if (isPlainObject(current) && isPlainObject(value) && !renamed) {
        const copy = { ...current };
        walk(copy, value, [...at, key]);
        into[key] = copy;
      } else {
        into[key] = value;
        target.origins.set([...at, key], value, originOf);
      }
    }
  };
  walk(target.data, override, []);
}

function parseExtends(source: ConfigSource, displayName: string): string[] {
  const data = source.data as Record<string, unknown>;
  const value = data.extends;
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw new ConfigError([
      {
        file: displayName,
        path: 'extends',
        message: `expected a file path or a list of file paths, got ${describe(value)}`,
      },
    ]);
  }
  return list;
}

export interface ResolveOptions {
  /** Refuse `extends:` with this reason (a run's saved config is resolved: it never names other files). */
  refuseExtends?: string;
}

export async function resolveConfigFile(file: string, options: ResolveOptions = {}): Promise<MergedConfig> {
  const files: string[] = [];

  async function load(absolute: string, chain: readonly string[], referrer?: { file: string; spec: string }) {
    const displayName = displayPath(absolute);
    if (chain.includes(absolute)) {
      const cycle = [...chain.slice(chain.indexOf(absolute)), absolute].map(displayPath).join(' → ');
      throw new ConfigError([
        { file: displayPath(chain.at(-1)!), path: 'extends', message: `extends cycle: ${cycle}` },
      ]);
    }
    if (!existsSync(absolute)) {
      const message = referrer
        ? `base config not found: ${referrer.spec} (resolved to ${absolute})`
        : 'config file not found';
      throw new ConfigError([
        {
          file: referrer ? displayPath(referrer.file) : displayName,
          path: referrer ? 'extends' : '',
          message,
        },
      ]);
    }
    const source = await readConfigSource(absolute, displayName);
    if (!files.includes(absolute)) files.push(absolute);
    if (!isPlainObject(source.data)) {
      throw new ConfigError([
        {
          file: displayName,
          path: '',
          message: `expected a mapping of config keys, got ${describe(source.data)}`,
        },
      ]);
    }
    const layer: Layer = { data: {}, origins: new Origins() };
    const bases = parseExtends(source, displayName);
    if (bases.length > 0 && options.refuseExtends) {
      throw new ConfigError([
        { file: displayName, path: 'extends', message: `${options.refuseExtends}, got ${bases.join(', ')}` },
      ]);
    }
    for (const spec of bases) {
      const base = await load(path.resolve(path.dirname(absolute), spec), [...chain, absolute], {
        file: absolute,
        spec,
      });
      mergeInto(layer, base.layer.data, (keyPath) => base.layer.origins.lookup(keyPath) ?? base.source);
    }
    const own = normaliseRefs(source.data);
    delete own.extends;
    mergeInto(layer, own, () => source);
    return { layer, source };
  }

  const { layer, source: top } = await load(path.resolve(file), []);
  return {
    data: layer.data,
    file: top.file,
    files,
    sourceOf: (keyPath) => layer.origins.lookup(keyPath) ?? top,
  };
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // JSON has no spelling for these (it would print null); YAML's .nan and .inf produce them.
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN (not a number)';
  if (typeof value === 'number' && !Number.isFinite(value)) return `${value} (not a finite number)`;
  return `${typeof value} ${JSON.stringify(value)}`;
}
