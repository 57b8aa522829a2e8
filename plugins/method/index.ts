/** Built-in method plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { adaptersPlugin } from './adapters.js';
import { asenPlugin } from './asen.js';
import { crossStitchPlugin } from './cross-stitch.js';
import { csnPlugin } from './csn.js';
import { filmPlugin } from './film.js';
import { mmoePlugin } from './mmoe.js';
import { modulationPlugin } from './modulation.js';
import { mtanPlugin } from './mtan.js';
import { separatePlugin } from './separate.js';
import { sharedPlugin } from './shared.js';
import { taskBnPlugin } from './task-bn.js';
import { taskRoutingPlugin } from './task-routing.js';

export const methodPlugins: readonly AnyPluginOf<'method'>[] = [
  modulationPlugin,
  sharedPlugin,
  separatePlugin,
  crossStitchPlugin,
  csnPlugin,
  filmPlugin,
  taskRoutingPlugin,
  adaptersPlugin,
  taskBnPlugin,
  mtanPlugin,
  mmoePlugin,
  asenPlugin,
];
