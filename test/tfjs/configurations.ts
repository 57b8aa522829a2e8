/**
 * The configurations in which `npm run test:tfjs` runs the shipped op tests against the project's kernels.
 * `stock` is tfjs-backend-wasm as shipped, the reference for the list of accepted failures.
 */
import { setNativeElementThreshold, setNativeThreshold } from '../../src/backend/wasm-native.js';
import {
  registerWasmTrainingKernels,
  setBroadcastThreshold,
} from '../../src/backend/wasm-training-kernels.js';

export interface Configuration {
  name: string;
  description: string;
  /** Environment of the worker process. */
  env: Record<string, string>;
}

export const CONFIGURATIONS: readonly Configuration[] = [
  { name: 'native', description: 'wasm kernels and the native pack as shipped', env: {} },
  {
    name: 'native-small',
    description: 'the native pack with its size thresholds at 0, so that it takes every tensor',
    env: {},
  },
  { name: 'wasm', description: 'MTLZOO_NATIVE=0: the wasm kernels alone', env: { MTLZOO_NATIVE: '0' } },
  {
    name: 'wasm-js-broadcast',
    description: 'MTLZOO_NATIVE=0, with the repeat-then-XNNPACK broadcast path at every size',
    env: { MTLZOO_NATIVE: '0' },
  },
];

/** Registers the project's kernels for the named configuration (in the worker, before the specs load). */
export function configureKernels(name: string): void {
  registerWasmTrainingKernels();
  if (name === 'native-small') {
    setNativeThreshold(0);
    setNativeElementThreshold(0);
  }
  if (name === 'wasm-js-broadcast') setBroadcastThreshold(0);
}
