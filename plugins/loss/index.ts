/** Built-in loss plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';

export const lossPlugins: readonly AnyPluginOf<'loss'>[] = [];
