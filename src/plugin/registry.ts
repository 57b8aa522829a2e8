/**
 * One registry per plugin kind (MMEngine's Registry, timm's register_model): plugins are registered by
 * declaration, looked up by name, and every name resolves to exactly one source.
 */
import { MtlzooError, errors } from '../errors.js';
import type { AnyPluginOf } from '../kinds/index.js';
import { PLUGIN_KINDS, type PluginKind, type PluginSource } from './types.js';

export interface RegisteredPlugin<K extends PluginKind> {
  readonly plugin: AnyPluginOf<K>;
  readonly source: PluginSource;
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const VERSION_PATTERN = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

/** Checks that an object handed to us (possibly by third-party code) is a well-formed plugin. */
export function assertPluginShape(
  candidate: unknown,
  source: PluginSource,
): asserts candidate is AnyPluginOf<PluginKind> {
  const problems: string[] = [];
  const p = candidate as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null) {
    throw new MtlzooError('PLUGIN_INVALID', `${source}: a plugin must be an object, got ${typeof candidate}`);
  }
  if (!PLUGIN_KINDS.includes(p.kind as PluginKind)) {
    problems.push(`kind must be one of ${PLUGIN_KINDS.join(', ')}, got ${JSON.stringify(p.kind)}`);
  }
  if (typeof p.name !== 'string' || !NAME_PATTERN.test(p.name)) {
    problems.push(`name must be lower-case letters, digits and dashes, got ${JSON.stringify(p.name)}`);
  }
  if (typeof p.version !== 'string' || !VERSION_PATTERN.test(p.version)) {
    problems.push(`version must be semver (e.g. 1.0.0), got ${JSON.stringify(p.version)}`);
  }
  if (typeof p.description !== 'string') problems.push('description must be a string');
  const options = p.options as { safeParse?: unknown } | undefined;
  if (typeof options !== 'object' || options === null || typeof options.safeParse !== 'function') {
    problems.push('options must be a zod schema');
  }
  if (typeof p.create !== 'function') problems.push('create must be a function');
  if (p.check !== undefined && typeof p.check !== 'function')
    problems.push('check must be a function if given');
  if (problems.length > 0) {
    const label = typeof p.name === 'string' ? `plugin "${p.name}"` : 'plugin';
    throw new MtlzooError('PLUGIN_INVALID', `${source}: ${label} is not valid: ${problems.join('; ')}`);
  }
}

export class Registry<K extends PluginKind> {
  private readonly entries = new Map<string, RegisteredPlugin<K>>();

  constructor(readonly kind: K) {}

  register(plugin: AnyPluginOf<K>, source: PluginSource): void {
    const existing = this.entries.get(plugin.name);
    if (existing) {
      throw new MtlzooError(
        'PLUGIN_DUPLICATE',
        errors.duplicatePlugin(this.kind, plugin.name, existing.source, source),
      );
    }
    this.entries.set(plugin.name, { plugin, source });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): AnyPluginOf<K> {
    return this.entry(name).plugin;
  }

  entry(name: string): RegisteredPlugin<K> {
    const found = this.entries.get(name);
    if (!found) throw new MtlzooError('PLUGIN_UNKNOWN', errors.unknownPlugin(this.kind, name, this.names()));
    return found;
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  list(): RegisteredPlugin<K>[] {
    return this.names().map((name) => this.entries.get(name)!);
  }
}

/** The registries of all kinds; a plugin is routed to its kind's registry. */
export class PluginRegistries {
  private readonly byKind: { [K in PluginKind]: Registry<K> } = {
    backend: new Registry('backend'),
    backbone: new Registry('backbone'),
    method: new Registry('method'),
    loss: new Registry('loss'),
    dataset: new Registry('dataset'),
    evaluator: new Registry('evaluator'),
    weighting: new Registry('weighting'),
  };

  of<K extends PluginKind>(kind: K): Registry<K> {
    return this.byKind[kind];
  }

  register(plugin: unknown, source: PluginSource): void {
    assertPluginShape(plugin, source);
    (this.byKind[plugin.kind] as Registry<PluginKind>).register(plugin, source);
  }

  all(): { kind: PluginKind; entry: RegisteredPlugin<PluginKind> }[] {
    return PLUGIN_KINDS.flatMap((kind) =>
      this.of(kind)
        .list()
        .map((entry) => ({ kind, entry })),
    );
  }
}
