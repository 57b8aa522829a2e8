/**
 * The shipped op-test files of @tensorflow/tfjs-core that exercise the kernels the project registers or
 * replaces for the wasm backend (src/backend/wasm-kernels/), by kernel.
 */
import { fileURLToPath } from 'node:url';

export const SPECS_BY_KERNEL: Readonly<Record<string, readonly string[]>> = {
  Conv2D: ['ops/conv2d_test', 'ops/conv1d_test', 'ops/conv2d_separable_test', 'ops/fused/fused_conv2d_test'],
  Conv2DBackpropInput: ['ops/conv2d_transpose_test', 'ops/conv2d_test', 'ops/fused/fused_conv2d_test'],
  Conv2DBackpropFilter: ['ops/conv2d_test', 'ops/conv2d_transpose_test', 'ops/fused/fused_conv2d_test'],
  FusedConv2D: ['ops/fused/fused_conv2d_test', 'ops/conv2d_separable_test'],
  DepthwiseConv2dNativeBackpropInput: ['ops/depthwise_conv2d_test', 'ops/fused/fused_depthwise_conv2d_test'],
  DepthwiseConv2dNativeBackpropFilter: ['ops/depthwise_conv2d_test', 'ops/fused/fused_depthwise_conv2d_test'],
  UnsortedSegmentSum: ['ops/unsorted_segment_sum_test', 'ops/gather_test'],
  Sum: ['ops/sum_test', 'ops/moments_test', 'ops/norm_test'],
  Mean: ['ops/mean_test', 'ops/moments_test'],
  MaxPool: ['ops/max_pool_test', 'ops/pool_test'],
  MaxPoolGrad: ['ops/max_pool_test', 'ops/pool_test'],
  GatherV2: ['ops/gather_test'],
  BatchMatMul: ['ops/mat_mul_test', 'ops/fused/fused_mat_mul_test'],
  Add: ['ops/add_test', 'ops/arithmetic_test'],
  Sub: ['ops/sub_test', 'ops/arithmetic_test'],
  Multiply: ['ops/arithmetic_test'],
  RealDiv: ['ops/arithmetic_test'],
  Tile: ['ops/tile_test', 'ops/broadcast_to_test'],
  Identity: ['ops/clone_test', 'gradients_test'],
  Cast: ['tensor_test'],
  Relu: ['ops/relu_test'],
  Step: ['ops/step_test'],
  Square: ['ops/square_test'],
  SplitV: ['ops/split_test', 'ops/concat_test'],
  Concat: ['ops/concat_test', 'ops/split_test'],
};

/** Every file once, in a stable order. */
export const SPEC_FILES: readonly string[] = [...new Set(Object.values(SPECS_BY_KERNEL).flat())].sort();

const dist = new URL('../../node_modules/@tensorflow/tfjs-core/dist/', import.meta.url);
export const specPath = (file: string) => fileURLToPath(new URL(`${file}.js`, dist));
