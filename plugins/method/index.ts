/** Built-in method plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';

export const methodPlugins: readonly AnyPluginOf<'method'>[] = [];
