/** Built-in backbone plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { facenetSmallPlugin } from './facenet-small.js';
import { resnet18Plugin } from './resnet18.js';
import { tinyPlugin } from './tiny.js';

export const backbonePlugins: readonly AnyPluginOf<'backbone'>[] = [
  facenetSmallPlugin,
  resnet18Plugin,
  tinyPlugin,
];
