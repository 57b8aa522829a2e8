/**
 * AddN within the device's storage-buffer limit. The shipped webgpu kernel binds every input and the output
 * to one shader; past `maxStorageBuffersPerShaderStage` − 1 inputs (7 under WebGPU's default limits, which
 * tfjs asks for) the pipeline fails validation, Dawn prints the error, and the sum reads as zeros: a
 * gradient averaged over 8 tasks or a global norm over 8 variables silently became 0. Here the shipped
 * kernel sums at most that many tensors at a time, then sums the partial sums the same way, as the shipped
 * Concat does for its own inputs.
 */
import * as tf from '../../tf.js';
import { webgpuBackend, type KernelArgs } from './program.js';

/** The kernel config, wrapping `shipped` (the package's own AddN for webgpu). */
export function addNConfig(shipped: tf.KernelFunc): tf.KernelConfig {
  return {
    kernelName: tf.AddN,
    backendName: 'webgpu',
    kernelFunc({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
      const gpu = webgpuBackend(backend);
      // One storage buffer is the output's.
      const most = Math.max(2, gpu.device.limits.maxStorageBuffersPerShaderStage - 1);
      const sum = (tensors: tf.TensorInfo[]) =>
        shipped({ inputs: tensors as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
      let level = inputs as unknown as tf.TensorInfo[];
      const partials: tf.TensorInfo[] = [];
      try {
        while (level.length > most) {
          const next: tf.TensorInfo[] = [];
          for (let i = 0; i < level.length; i += most) {
            const group = level.slice(i, i + most);
            if (group.length === 1) {
              next.push(group[0]!);
              continue;
            }
            const partial = sum(group);
            partials.push(partial);
            next.push(partial);
          }
          level = next;
        }
        return sum(level);
      } finally {
        for (const t of partials) gpu.disposeData(t.dataId);
      }
    },
  };
}
