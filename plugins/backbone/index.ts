/** Built-in backbone plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';

export const backbonePlugins: readonly AnyPluginOf<'backbone'>[] = [];
