/** Built-in method plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { crossStitchPlugin } from './cross-stitch.js';
import { csnPlugin } from './csn.js';
import { modulationPlugin } from './modulation.js';
import { separatePlugin } from './separate.js';
import { sharedPlugin } from './shared.js';

export const methodPlugins: readonly AnyPluginOf<'method'>[] = [
  modulationPlugin,
  sharedPlugin,
  separatePlugin,
  crossStitchPlugin,
  csnPlugin,
];
