/**
 * The kernels the project registers for tfjs's wasm backend: those it lacks for training a conv net, those
 * it ships in a form too slow to train with, and those the native pack runs on every core. One file per
 * kernel in src/backend/wasm-kernels/, listed here; each kernel runs as native → wasm → the kernel
 * tfjs-backend-wasm shipped, each part declining the cases it does not cover.
 */
import * as tf from '../tf.js';
import { nativePack, type NativePack } from './wasm-native.js';
import { AdamUpdate } from './wasm-kernels/AdamUpdate.js';
import { Add } from './wasm-kernels/Add.js';
import { BatchMatMul } from './wasm-kernels/BatchMatMul.js';
import { Cast } from './wasm-kernels/Cast.js';
import { Concat } from './wasm-kernels/Concat.js';
import { Conv2D } from './wasm-kernels/Conv2D.js';
import { Conv2DBackpropFilter } from './wasm-kernels/Conv2DBackpropFilter.js';
import { Conv2DBackpropInput } from './wasm-kernels/Conv2DBackpropInput.js';
import { DepthwiseConv2dNativeBackpropFilter } from './wasm-kernels/DepthwiseConv2dNativeBackpropFilter.js';
import { DepthwiseConv2dNativeBackpropInput } from './wasm-kernels/DepthwiseConv2dNativeBackpropInput.js';
import { FusedBatchNorm } from './wasm-kernels/FusedBatchNorm.js';
import { FusedBatchNormGrad } from './wasm-kernels/FusedBatchNormGrad.js';
import { FusedConv2D } from './wasm-kernels/FusedConv2D.js';
import { GatherV2 } from './wasm-kernels/GatherV2.js';
import { Identity } from './wasm-kernels/Identity.js';
import type { KernelArgs, WasmKernel } from './wasm-kernels/kernel.js';
import { MaxPool } from './wasm-kernels/MaxPool.js';
import { MaxPoolGrad } from './wasm-kernels/MaxPoolGrad.js';
import { Mean } from './wasm-kernels/Mean.js';
import { Multiply } from './wasm-kernels/Multiply.js';
import { RealDiv } from './wasm-kernels/RealDiv.js';
import { ScaleShift } from './wasm-kernels/ScaleShift.js';
import { Relu } from './wasm-kernels/Relu.js';
import { Square } from './wasm-kernels/Square.js';
import { SplitV } from './wasm-kernels/SplitV.js';
import { Step } from './wasm-kernels/Step.js';
import { Sub } from './wasm-kernels/Sub.js';
import { Sum } from './wasm-kernels/Sum.js';
import { Tile } from './wasm-kernels/Tile.js';
import { UnsortedSegmentSum } from './wasm-kernels/UnsortedSegmentSum.js';

export { setBroadcastThreshold } from './wasm-kernels/binary.js';

/** Every kernel the project has for wasm: tfjs's (tf.Add, …) and its own (kernel-names.ts). */
export const WASM_KERNELS: readonly WasmKernel[] = [
  AdamUpdate,
  Add,
  BatchMatMul,
  Cast,
  Concat,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  FusedBatchNorm,
  FusedBatchNormGrad,
  FusedConv2D,
  GatherV2,
  Identity,
  MaxPool,
  MaxPoolGrad,
  Mean,
  Multiply,
  RealDiv,
  Relu,
  ScaleShift,
  SplitV,
  Square,
  Step,
  Sub,
  Sum,
  Tile,
  UnsortedSegmentSum,
];

function describeCall(args: KernelArgs): string {
  const inputs = Object.entries(args.inputs).map(([name, t]) => `${name} ${t?.dtype} [${t?.shape}]`);
  return `${inputs.join(', ')}; ${JSON.stringify(args.attrs ?? {})}`;
}

/** The kernel function of `kernel`: native (when the pack is given), then wasm, then `fallback`. */
function compose(
  kernel: WasmKernel,
  pack: NativePack | undefined,
  fallback: tf.KernelConfig | undefined,
): tf.KernelFunc {
  const { native, wasm, kernelName } = kernel;
  return (args) => {
    const out = (pack && native?.(args, pack)) ?? wasm?.(args);
    if (out !== undefined) return out;
    if (fallback) return fallback.kernelFunc(args);
    throw new Error(`wasm ${kernelName} does not support this case: ${describeCall(args)}`);
  };
}

/** One path of a kernel alone (tests check the wasm paths where the pack is built); throws where it declines. */
export function kernelPath(kernelName: string, path: 'native' | 'wasm'): tf.KernelFunc {
  const kernel = WASM_KERNELS.find((k) => k.kernelName === kernelName);
  const pack = nativePack();
  return (args) => {
    const out = path === 'native' ? pack && kernel?.native?.(args, pack) : kernel?.wasm?.(args);
    if (out === undefined)
      throw new Error(`the ${path} path of ${kernelName} declined ${describeCall(args)}`);
    return out;
  };
}

/** What this module registered, by kernel name, so that a second call recognises its own kernels. */
const installed = new Map<string, tf.KernelFunc>();

/**
 * Registers the project's kernels for the `wasm` backend, with the native pack's parts when it is in use.
 * Call after importing @tensorflow/tfjs-backend-wasm and before `tf.setBackend('wasm')`. Idempotent; the
 * kernel registered before under each name (tfjs's own) becomes the fallback. Returns the names of the
 * kernels now registered from this module.
 */
export function registerWasmTrainingKernels(): string[] {
  const pack = nativePack();
  const ours = (name: string) => {
    const current = tf.getKernel(name, 'wasm');
    return current !== undefined && current.kernelFunc === installed.get(name);
  };
  for (const kernel of WASM_KERNELS) {
    const name = kernel.kernelName;
    if ((kernel.wasm === undefined && !(pack && kernel.native)) || ours(name)) continue;
    const fallback = tf.getKernel(name, 'wasm');
    const kernelFunc = compose(kernel, pack, fallback);
    // Unregistering first avoids tfjs's "already registered" warning.
    if (fallback !== undefined) tf.unregisterKernel(name, 'wasm');
    // The shipped setup (binding its C function, XNNPACK operator caching) must still run for the cases handed back.
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc, setupFunc: fallback?.setupFunc });
    installed.set(name, kernelFunc);
  }
  return WASM_KERNELS.map((k) => k.kernelName).filter(ours);
}
