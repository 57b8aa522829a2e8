/** Built-in backend plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';

export const backendPlugins: readonly AnyPluginOf<'backend'>[] = [];
