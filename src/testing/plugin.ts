/** What every harness does first: check a plugin's options, then create it through mtlzoo's build door. */
import { deepStrictEqual } from 'node:assert';
import type { ContextByKind, InstanceByKind, AnyPluginOf } from '../kinds/index.js';
import { PluginRegistries } from '../plugin/registry.js';
import type { CheckContext, PluginKind } from '../plugin/types.js';
import { check } from './assertions.js';

/** The source harness failures name: `loss "soft-margin" (contract test): create failed: …`. */
const SOURCE = 'contract test';

/**
 * `rawOptions` parsed by the plugin's schema, after checking that the plugin is well formed and of `kind`,
 * that the parsed options round-trip through JSON (run folders save them so) and that `check` accepts them.
 */
export function checkedOptions<K extends PluginKind>(
  kind: K,
  plugin: AnyPluginOf<K>,
  rawOptions: unknown,
  checkContext: CheckContext = {},
): unknown {
  const label = `${kind} ${plugin.name}`;
  check(plugin.kind === kind, () => `${label}: kind is "${plugin.kind}"`);
  new PluginRegistries().register(plugin, SOURCE); // throws, naming every problem, if malformed
  const parsed = plugin.options.safeParse(rawOptions);
  check(parsed.success, () => `${label}: options rejected: ${parsed.error?.message}`);
  const options: unknown = parsed.data;
  deepStrictEqual(
    plugin.options.parse(JSON.parse(JSON.stringify(options))),
    options,
    `${label}: resolved options do not round-trip through JSON`,
  );
  const issues = plugin.check?.(options, checkContext) ?? [];
  check(issues.length === 0, () => `${label}: check() rejects valid options: ${JSON.stringify(issues)}`);
  return options;
}

/** Creates `plugin` the way mtlzoo does, through `PluginRegistries.build`. */
export function buildPlugin<K extends PluginKind>(
  kind: K,
  plugin: AnyPluginOf<K>,
  options: unknown,
  context: ContextByKind[K],
): Promise<InstanceByKind[K]> {
  const registries = new PluginRegistries();
  registries.register(plugin, SOURCE);
  return registries.build(kind, { name: plugin.name, options }, context);
}
