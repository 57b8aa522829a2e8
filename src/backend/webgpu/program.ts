/**
 * What mtlzoo's webgpu kernels share: the backend type, calling another webgpu kernel in place, and a WGSL
 * program with one invocation per output element, laid out as @tensorflow/tfjs-backend-webgpu's own programs
 * are. The backend package is an optional dependency, so only its types are imported here.
 */
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '../../tf.js';

export type { WebGPUBackend };

/** A program as WebGPUBackend.runWebGPUProgram takes it. */
export type WebGPUProgram = Parameters<WebGPUBackend['runWebGPUProgram']>[0];

/** Uniform values, in the order the program's `uniforms` declares them. */
export type ProgramUniforms = NonNullable<Parameters<WebGPUBackend['runWebGPUProgram']>[3]>;

export type KernelArgs = Parameters<tf.KernelFunc>[0];

export function webgpuBackend(backend: unknown): WebGPUBackend {
  return backend as WebGPUBackend;
}

/** Runs another kernel of the webgpu backend on tensors already there, as tfjs's own kernels do. */
export function runWebgpuKernel(
  backend: WebGPUBackend,
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, 'webgpu');
  if (kernel === undefined) throw new Error(`webgpu kernel ${kernelName} is not registered`);
  return kernel.kernelFunc({ inputs, attrs, backend }) as tf.TensorInfo;
}

const WORKGROUP: [number, number, number] = [64, 1, 1];

/**
 * A program with one invocation per output element (`index`, guarded by `uniforms.size`); `body` is WGSL
 * that may use `getCoordsFromIndex(index)`, the `get<Input>(...)` accessors, the uniforms and
 * `setOutputAtIndex`.
 */
export function elementwiseProgram(options: {
  shaderKey: string;
  variableNames: string[];
  outputShape: number[];
  uniforms: string;
  body: string;
}): WebGPUProgram {
  const dispatchLayout = { x: options.outputShape.map((_, i) => i) };
  const size = tf.util.sizeFromShape(options.outputShape);
  return {
    shaderKey: options.shaderKey,
    variableNames: options.variableNames,
    outputShape: options.outputShape,
    uniforms: options.uniforms,
    workgroupSize: WORKGROUP,
    size: true,
    dispatchLayout,
    // Along x only, as tfjs's computeDispatch does for a flat layout; the backend spreads it over y and z when
    // it exceeds the device's workgroups per dimension.
    dispatch: [Math.ceil(size / WORKGROUP[0]), 1, 1],
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${options.body}
        }
      }`,
  };
}
