/** Built-in dataset plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';

export const datasetPlugins: readonly AnyPluginOf<'dataset'>[] = [];
