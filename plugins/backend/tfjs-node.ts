/**
 * The libtensorflow engines. Both are optional peer dependencies: they download libtensorflow at install
 * time (from a host this project cannot assume) and -gpu needs CUDA 11.2 + cuDNN 8.1, so mtlzoo never
 * requires them and reports plainly why one was passed over.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import * as tf from '../../src/tf.js';
import type { BackendLoadResult } from '../../src/kinds/backend.js';
import { definePlugin } from '../../src/plugin/define.js';

interface TfjsNodeVariant {
  name: string;
  packageName: string;
  needsGpu: boolean;
  description: string;
}

const VARIANTS: readonly TfjsNodeVariant[] = [
  {
    name: 'tensorflow-gpu',
    packageName: '@tensorflow/tfjs-node-gpu',
    needsGpu: true,
    description: 'libtensorflow with CUDA (@tensorflow/tfjs-node-gpu; needs CUDA 11.2 and cuDNN 8.1)',
  },
  {
    name: 'tensorflow',
    packageName: '@tensorflow/tfjs-node',
    needsGpu: false,
    description: 'libtensorflow on the CPU (@tensorflow/tfjs-node)',
  },
];

const require = createRequire(import.meta.url);

function isInstalled(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

const GPU_DEVICE_FILES = ['/dev/nvidia0', '/proc/driver/nvidia/version'];

async function loadVariant(variant: TfjsNodeVariant): Promise<BackendLoadResult> {
  if (!isInstalled(variant.packageName)) {
    return { available: false, reason: `${variant.packageName} is not installed` };
  }
  if (variant.needsGpu && !GPU_DEVICE_FILES.some((f) => existsSync(f))) {
    return {
      available: false,
      reason: `no NVIDIA GPU visible (none of ${GPU_DEVICE_FILES.join(', ')} exists)`,
    };
  }
  try {
    await import(variant.packageName);
  } catch (error) {
    return {
      available: false,
      reason: `${variant.packageName} is installed but failed to load (is libtensorflow in its deps/ folder?): ${(error as Error).message.split('\n')[0]}`,
    };
  }
  // The package registers into the @tensorflow/tfjs-core it resolves; a second copy would stay invisible.
  if (!tf.findBackendFactory('tensorflow')) {
    return {
      available: false,
      reason: `${variant.packageName} registered into another copy of @tensorflow/tfjs-core; install the version matching @tensorflow/tfjs-core ${tf.version_core}`,
    };
  }
  return { available: true, detail: variant.packageName };
}

export const tfjsNodeBackendPlugins = VARIANTS.map((variant) =>
  definePlugin({
    kind: 'backend',
    name: variant.name,
    version: '0.1.0',
    description: variant.description,
    options: z.strictObject({}),
    create: () => ({ tfBackendName: 'tensorflow', load: () => loadVariant(variant) }),
  }),
);
