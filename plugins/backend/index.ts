/** Built-in backend plugins, in the order `backend: auto` tries them (fastest first). */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { cpuBackendPlugin } from './cpu.js';
import { tfjsNodeBackendPlugins } from './tfjs-node.js';
import { wasmBackendPlugin } from './wasm.js';
import { webgpuBackendPlugin } from './webgpu.js';

const [tensorflowGpu, tensorflow] = tfjsNodeBackendPlugins;

export const backendPlugins: readonly AnyPluginOf<'backend'>[] = [
  tensorflowGpu!,
  webgpuBackendPlugin,
  tensorflow!,
  wasmBackendPlugin,
  cpuBackendPlugin,
];
