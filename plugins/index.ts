/**
 * The manifest of built-in plugins (as tfjs's register_all_kernels): one array per kind, each kept in
 * plugins/<kind>/index.ts, registered in a loop by the kernel.
 */
import type { AnyPluginOf } from '../src/kinds/index.js';
import type { PluginKind } from '../src/plugin/types.js';
import { backbonePlugins } from './backbone/index.js';
import { backendPlugins } from './backend/index.js';
import { datasetPlugins } from './dataset/index.js';
import { evaluatorPlugins } from './evaluator/index.js';
import { lossPlugins } from './loss/index.js';
import { methodPlugins } from './method/index.js';
import { weightingPlugins } from './weighting/index.js';

export const builtinPlugins: readonly AnyPluginOf<PluginKind>[] = [
  ...backendPlugins,
  ...backbonePlugins,
  ...methodPlugins,
  ...lossPlugins,
  ...datasetPlugins,
  ...evaluatorPlugins,
  ...weightingPlugins,
];
