import type { PluginOf } from '../kinds/index.js';
import type { PluginKind } from './types.js';

/**
 * Declares a plugin. An identity function at run time; at compile time it ties the factory's `options`
 * parameter to the schema's output type and checks the kind's contract.
 */
export function definePlugin<K extends PluginKind, O>(plugin: PluginOf<K, O>): PluginOf<K, O> {
  return plugin;
}
