/**
 * One registry per plugin kind (MMEngine's Registry, timm's register_model): plugins are registered by
 * declaration, looked up by name, and every name resolves to exactly one source. `build` is the one door
 * through which every plugin is created.
 */
import { MtlzooError, dottedPath, errors, isMtlzooError } from '../errors.js';
import path from 'node:path';
import { AUTO_BACKEND } from '../kinds/backend.js';
import type { DatasetDescribeContext, DatasetDescription } from '../kinds/dataset.js';
import type { AnyPluginOf, ContextByKind, InstanceByKind } from '../kinds/index.js';
import { displayPath } from '../util/paths.js';
import { PLUGIN_KINDS, type CheckContext, type PluginKind, type PluginSource } from './types.js';

export interface RegisteredPlugin<K extends PluginKind> {
  readonly plugin: AnyPluginOf<K>;
  readonly source: PluginSource;
}

/** What a plugin name may be: lower-case letters, digits and dashes. */
export const PLUGIN_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
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
  if (typeof p.name !== 'string' || !PLUGIN_NAME_PATTERN.test(p.name)) {
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
  if (p.kind === 'backend' && p.name === AUTO_BACKEND) {
    problems.push(
      `name "${AUTO_BACKEND}" is reserved: \`backend: ${AUTO_BACKEND}\` picks the best backend that loads`,
    );
  }
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

/** A plugin reference: a registered name and raw options (a config's `method: { name, options }`). */
export interface PluginReference {
  readonly name: string;
  readonly options?: unknown;
}

/** What messages need of a registered plugin (any kind's entry fits). */
interface PluginEntryLike {
  readonly plugin: { readonly name: string };
  readonly source: PluginSource;
}

/** The parts of a plugin that run its author's code. */
export type PluginPhase = 'options schema' | 'check' | 'create' | 'describe';

/**
 * A source as messages show it: `built-in`, a path (relative to the working directory when inside it), or
 * `package@version`.
 */
export function describeSource(source: PluginSource): string {
  if (source.startsWith('path:')) {
    const shown = displayPath(source.slice('path:'.length));
    return path.isAbsolute(shown) ? shown : `./${shown}`;
  }
  if (source.startsWith('npm:')) return source.slice('npm:'.length);
  return source === 'builtin' ? 'built-in' : source;
}

/** `method "film" (./plugins/film.ts)`: how messages name a registered plugin. */
export function pluginLabel(kind: PluginKind, entry: PluginEntryLike): string {
  return `${kind} "${entry.plugin.name}" (${describeSource(entry.source)})`;
}

/**
 * Runs one part of a plugin's own code. Whatever it throws (synchronously or by rejecting) becomes one
 * line naming the plugin, its source and the phase; an `MtlzooError` keeps its code and exit code, anything
 * else is `PLUGIN_FAILED` (exit 1). The original error is the `cause`, for `--debug`.
 */
export function runPluginCode<T>(
  kind: PluginKind,
  entry: PluginEntryLike,
  phase: PluginPhase,
  run: () => T,
): T {
  const wrap = (error: unknown): MtlzooError => {
    const message = error instanceof Error ? error.message : String(error);
    const text = `${pluginLabel(kind, entry)}: ${phase} failed: ${message}`;
    return isMtlzooError(error)
      ? new MtlzooError(error.code, text, error.exitCode, { cause: error })
      : new MtlzooError('PLUGIN_FAILED', text, 1, { cause: error });
  };
  let result: T;
  try {
    result = run();
  } catch (error) {
    throw wrap(error);
  }
  if (result instanceof Promise) {
    return result.catch((error: unknown) => {
      throw wrap(error);
    }) as T;
  }
  return result;
}

/** `stages[1]: expected …; form: expected …`: option issues on one line, paths relative to the options. */
function listIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${dottedPath(i.path) || '(options)'}: ${i.message}`).join('; ');
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

  /**
   * The one door through which every plugin is created: looks `ref.name` up in the kind's registry, parses
   * `ref.options` with the plugin's schema (defaults filled; parsing a resolved config's options again
   * changes nothing), runs the plugin's `check` when `checkContext` is given, then its `create`. Anything
   * the plugin's code throws names the plugin (see runPluginCode); invalid options and issues from `check`
   * are `PLUGIN_INVALID`, exit 2.
   */
  async build<K extends PluginKind>(
    kind: K,
    ref: PluginReference,
    context: ContextByKind[K],
    checkContext?: CheckContext,
  ): Promise<InstanceByKind[K]> {
    return this.create(kind, ref, context, checkContext);
  }

  /**
   * `build` for plugins whose `create` is synchronous (backbones: validating a config describes their
   * stages); a plugin that returns a promise is refused.
   */
  buildSync<K extends PluginKind>(
    kind: K,
    ref: PluginReference,
    context: ContextByKind[K],
  ): InstanceByKind[K] {
    const instance = this.create(kind, ref, context);
    if (instance instanceof Promise) {
      instance.catch(() => undefined); // refused below; its own failure would only be noise
      const entry = this.of(kind).entry(ref.name);
      throw new MtlzooError(
        'PLUGIN_INVALID',
        `${pluginLabel(kind, entry)}: create() must return synchronously`,
      );
    }
    return instance;
  }

  /**
   * A dataset's tasks and splits from its options and list files, without decoding an image: its optional
   * `describe`, run like `create` (options parsed, failures naming the plugin). Undefined when it has none.
   */
  async describeDataset(
    ref: PluginReference,
    context: DatasetDescribeContext,
  ): Promise<DatasetDescription | undefined> {
    const entry = this.of('dataset').entry(ref.name);
    const describe = entry.plugin.describe;
    if (!describe) return undefined;
    const options = this.parseOptions('dataset', ref);
    return runPluginCode('dataset', entry, 'describe', () => describe.call(entry.plugin, options, context));
  }

  /** `ref.options` parsed by the plugin's schema (defaults filled); invalid ones are `PLUGIN_INVALID`. */
  parseOptions(kind: PluginKind, ref: PluginReference): unknown {
    const entry = this.of(kind).entry(ref.name);
    const parsed = runPluginCode(kind, entry, 'options schema', () =>
      entry.plugin.options.safeParse(ref.options ?? {}),
    );
    if (!parsed.success) {
      const detail = listIssues(parsed.error.issues);
      throw new MtlzooError('PLUGIN_INVALID', `${pluginLabel(kind, entry)}: invalid options: ${detail}`, 2);
    }
    return parsed.data;
  }

  private create<K extends PluginKind>(
    kind: K,
    ref: PluginReference,
    context: ContextByKind[K],
    checkContext?: CheckContext,
  ): InstanceByKind[K] | Promise<InstanceByKind[K]> {
    const entry = this.of(kind).entry(ref.name);
    const plugin = entry.plugin;
    const label = pluginLabel(kind, entry);
    const options = this.parseOptions(kind, ref);
    if (checkContext) {
      const issues = runPluginCode(kind, entry, 'check', () => plugin.check?.(options, checkContext) ?? []);
      if (issues.length > 0) throw new MtlzooError('PLUGIN_INVALID', `${label}: ${listIssues(issues)}`, 2);
    }
    return runPluginCode(kind, entry, 'create', () => plugin.create(options, context as never)) as
      InstanceByKind[K] | Promise<InstanceByKind[K]>;
  }

  all(): { kind: PluginKind; entry: RegisteredPlugin<PluginKind> }[] {
    return PLUGIN_KINDS.flatMap((kind) =>
      this.of(kind)
        .list()
        .map((entry) => ({ kind, entry })),
    );
  }
}
