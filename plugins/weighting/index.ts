/** Built-in weighting strategies (the second MTL axis), one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { equalWeighting } from './equal.js';
import { pcgradWeighting } from './pcgrad.js';

export const weightingPlugins: readonly AnyPluginOf<'weighting'>[] = [equalWeighting, pcgradWeighting];
