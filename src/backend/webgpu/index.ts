/**
 * Kernels mtlzoo registers for the webgpu engine where @tensorflow/tfjs-backend-webgpu 4.22 gets one wrong
 * for training, each checked against the cpu backend in test/webgpu.test.ts. Everything else a training
 * step runs (convolutions and both gradients with any stride and padding, depthwise convolutions, pooling,
 * gathers, reductions, batch statistics, matmuls, element-wise ops) matches cpu as shipped.
 */
import * as tf from '../../tf.js';
import { addNConfig } from './add-n.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

let registered: string[] | undefined;

/**
 * Registers the kernels (once; later calls change nothing) and returns their names. Call after
 * @tensorflow/tfjs-backend-webgpu has registered its own, since some wrap the shipped kernel.
 */
export function registerWebgpuTrainingKernels(): string[] {
  if (registered) return registered;
  const shipped = (name: string): tf.KernelFunc => {
    const kernel = tf.getKernel(name, 'webgpu');
    if (!kernel) throw new Error(`@tensorflow/tfjs-backend-webgpu registered no ${name} kernel`);
    return kernel.kernelFunc;
  };
  const configs = [
    addNConfig(shipped(tf.AddN)),
    maxPoolGradConfig,
    unsortedSegmentSumConfig(shipped(tf.UnsortedSegmentSum)),
  ];
  for (const config of configs) {
    tf.unregisterKernel(config.kernelName, 'webgpu');
    tf.registerKernel(config);
  }
  registered = configs.map((c) => c.kernelName);
  return registered;
}
