/**
 * UnsortedSegmentSum that drops ids outside [0, numSegments), as the cpu backend does. The shipped webgpu
 * kernel drops negative ids but folds larger ones in with `id % numSegments`, adding their rows to another
 * segment. Here the ids are masked on the device (out of range → -1) before the shipped kernel sums.
 */
import * as tf from '../../tf.js';
import { elementwiseProgram, webgpuBackend, type KernelArgs } from './program.js';

/** The kernel config, wrapping `shipped` (the package's own UnsortedSegmentSum for webgpu). */
export function unsortedSegmentSumConfig(shipped: tf.KernelFunc): tf.KernelConfig {
  return {
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'webgpu',
    kernelFunc({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
      const gpu = webgpuBackend(backend);
      const program = elementwiseProgram({
        shaderKey: 'mtlzoo_segmentIdsInRange',
        variableNames: ['segmentIds'],
        outputShape: segmentIds.shape,
        uniforms: 'numSegments : i32,',
        body: `
          let id = i32(getSegmentIdsByOutputIndex(index));
          setOutputAtIndexI32(index, select(-1, id, id < uniforms.numSegments));`,
      });
      const ids = gpu.runWebGPUProgram(program, [segmentIds], 'int32', [
        { type: 'int32', data: [numSegments] },
      ]);
      try {
        return shipped({ inputs: { x, segmentIds: ids }, backend, attrs }) as tf.TensorInfo;
      } finally {
        gpu.disposeData(ids.dataId);
      }
    },
  };
}
