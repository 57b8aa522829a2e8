/**
 * TensorFlow.js's WebGPU engine in Node: @tensorflow/tfjs-backend-webgpu on Dawn (the `webgpu` package), both
 * optional dependencies. It runs on any GPU with a Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver,
 * with no CUDA and no download at install time. A software adapter (Mesa's llvmpipe) is correct but slower
 * than the CPU engines: `auto` passes it over, and only `backend: webgpu` named explicitly uses it (CI tests
 * the backend that way).
 */
import { z } from 'zod';
import * as tf from '../../src/tf.js';
import type { BackendLoadResult, GpuAdapterDescription } from '../../src/kinds/backend.js';
import { findAdapter, formatAdapter, probeAdapter } from '../../src/backend/webgpu/adapter.js';
import { registerWebgpuTrainingKernels } from '../../src/backend/webgpu/index.js';
import { definePlugin } from '../../src/plugin/define.js';

const options = z.strictObject({
  /** Which adapter Dawn offers when a machine has two GPUs (e.g. integrated and discrete). */
  powerPreference: z.enum(['high-performance', 'low-power']).default('high-performance'),
});

const BACKEND_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

const softwareOnly = (adapter: GpuAdapterDescription) =>
  `only a software adapter is available (${formatAdapter(adapter)}): slower than the CPU engines, ` +
  'so auto never picks it; name `backend: webgpu` to use it';

async function load(o: z.output<typeof options>, auto: boolean): Promise<BackendLoadResult> {
  if (auto) {
    // Looked for in a child process: on a machine auto will not use it for, Dawn never enters this one.
    const probed = await probeAdapter(o.powerPreference);
    if (probed.adapter === null) return { available: false, reason: probed.reason };
    if (probed.adapter.isFallbackAdapter) {
      return { available: true, adapter: probed.adapter, notForAuto: softwareOnly(probed.adapter) };
    }
  }
  const found = await findAdapter(o.powerPreference);
  if (found.adapter === null) return { available: false, reason: found.reason };
  // The package registers its backend on import, only if navigator.gpu exists by then (findAdapter made it).
  try {
    await import(BACKEND_PACKAGE);
  } catch (error) {
    return {
      available: false,
      reason: `${BACKEND_PACKAGE} is not installed or failed to load: ${(error as Error).message.split('\n')[0]}`,
    };
  }
  if (!tf.findBackendFactory('webgpu')) {
    return {
      available: false,
      reason: `${BACKEND_PACKAGE} did not register its backend (was it imported before navigator.gpu existed, or into another copy of @tensorflow/tfjs-core than ${tf.version_core}?)`,
    };
  }
  // The backend's own factory reads this flag when it requests its adapter: the one described here.
  tf.env().set('WEBGPU_USE_LOW_POWER_GPU', o.powerPreference === 'low-power');
  const added = registerWebgpuTrainingKernels();
  const adapter = found.adapter;
  return {
    available: true,
    detail: `adapter ${formatAdapter(adapter)}${added.length > 0 ? `; training kernels: ${added.join(', ')}` : ''}`,
    adapter,
    ...(adapter.isFallbackAdapter ? { notForAuto: softwareOnly(adapter) } : {}),
  };
}

export const webgpuBackendPlugin = definePlugin({
  kind: 'backend',
  name: 'webgpu',
  version: '0.1.0',
  description:
    'WebGPU through Dawn (@tensorflow/tfjs-backend-webgpu + webgpu): any GPU with a Vulkan, Metal or D3D12 driver',
  options,
  create: (o) => ({ tfBackendName: 'webgpu', load: (context) => load(o, context?.auto ?? false) }),
});
