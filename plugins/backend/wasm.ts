/**
 * TensorFlow.js's WebAssembly engine (XNNPACK, SIMD; single-threaded in Node). As shipped it cannot train
 * a conv net, so loading it also registers the missing gradient kernels.
 */
import { z } from 'zod';
import { nativePackUnavailableReason } from '../../src/backend/wasm-native.js';
import { registerWasmTrainingKernels } from '../../src/backend/wasm-training-kernels.js';
import { definePlugin } from '../../src/plugin/define.js';

export const wasmBackendPlugin = definePlugin({
  kind: 'backend',
  name: 'wasm',
  version: '0.1.0',
  description:
    'WebAssembly with XNNPACK and SIMD (@tensorflow/tfjs-backend-wasm) plus mtlzoo training kernels',
  options: z.strictObject({}),
  create: () => ({
    tfBackendName: 'wasm',
    async load() {
      try {
        await import('@tensorflow/tfjs-backend-wasm');
      } catch (error) {
        return {
          available: false,
          reason: `@tensorflow/tfjs-backend-wasm failed to load: ${(error as Error).message}`,
        };
      }
      const added = registerWasmTrainingKernels();
      const absent = nativePackUnavailableReason();
      const pack = absent === undefined ? 'native pack: in use' : `native pack: not in use, ${absent}`;
      return { available: true, detail: `${pack}; training kernels: ${added.join(', ')}` };
    },
  }),
});
