/** Built-in evaluator plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';

export const evaluatorPlugins: readonly AnyPluginOf<'evaluator'>[] = [];
