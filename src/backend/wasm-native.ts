/**
 * The optional native kernel pack (native/, an N-API addon over oneDNN): Conv2D and its two gradients on all
 * cores, computed in place on the wasm backend's heap so that every other op stays in wasm. Absent unless
 * built (`sh native/build.sh`, which npm install does not run; see docs/performance.md), and switched off by
 * MTLZOO_NATIVE=0.
 */
import { createRequire } from 'node:module';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '../tf.js';

interface NativePack {
  /** op 0: forward (src, weights → dst); 1: backward data (dst, weights → src); 2: backward weights. */
  conv(op: number, heap: ArrayBuffer, src: number, weights: number, dst: number, params: Int32Array): void;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Below this many multiply-adds (per pass) oneDNN's thread start-up costs more than it saves, and the
 * single-threaded XNNPACK path wins; measured crossover on 2 cores: about 1e8 (docs/performance.md).
 */
export const NATIVE_MIN_MACS = 1e8;
let minMultiplyAdds = NATIVE_MIN_MACS;

/** Sets the size below which convolutions stay in wasm (tests set 0 to exercise the pack); returns the old one. */
export function setNativeThreshold(multiplyAdds: number): number {
  const previous = minMultiplyAdds;
  minMultiplyAdds = multiplyAdds;
  return previous;
}

function multiplyAdds(info: tf.backend_util.Conv2DInfo): number {
  return (
    info.batchSize *
    info.outHeight *
    info.outWidth *
    info.outChannels *
    info.filterHeight *
    info.filterWidth *
    info.inChannels
  );
}

/** Cases the pack leaves to the wasm kernels: NCHW layouts, and convolutions too small to gain. */
function leaveToWasm(info: tf.backend_util.Conv2DInfo): boolean {
  return info.dataFormat !== 'channelsLast' || multiplyAdds(info) < minMultiplyAdds;
}

const FORWARD = 0;
const BACKWARD_DATA = 1;
const BACKWARD_WEIGHTS = 2;

/** The addon as built from source (src/backend) and from the compiled package (dist/src/backend). */
const CANDIDATES = [
  '../../native/build/Release/mtlzoo_native.node',
  '../../../native/build/Release/mtlzoo_native.node',
];

let loaded: { pack: NativePack } | { reason: string } | undefined;

function load(): { pack: NativePack } | { reason: string } {
  if (loaded) return loaded;
  if (process.env['MTLZOO_NATIVE'] === '0') return (loaded = { reason: 'disabled by MTLZOO_NATIVE=0' });
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const path of CANDIDATES) {
    try {
      return (loaded = { pack: require(path) as NativePack });
    } catch (error) {
      errors.push((error as Error).message.split('\n')[0] ?? '');
    }
  }
  return (loaded = { reason: `native pack not built (${errors[0]})` });
}

/** Why the native pack is not in use, or undefined when it is available. */
export function nativePackUnavailableReason(): string | undefined {
  const state = load();
  return 'reason' in state ? state.reason : undefined;
}

function run(
  pack: NativePack,
  op: number,
  backend: BackendWasm,
  [src, weights, dst]: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo],
  info: tf.backend_util.Conv2DInfo,
): void {
  const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
  const { top, left, bottom, right } = info.padInfo;
  const params = Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    top,
    left,
    bottom,
    right,
  );
  // Take the heap's buffer only now: allocating the output may have grown (and replaced) it.
  const heap = backend.typedArrayFromHeap(dst).buffer as ArrayBuffer;
  pack.conv(op, heap, offset(src), offset(weights), offset(dst), params);
}

function conv2DInfo(
  xShape: number[],
  filterShape: number[],
  attrs: {
    strides: number | [number, number];
    pad: unknown;
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: unknown;
  },
  dilations: number | [number, number] = 1,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'),
  );
}

/**
 * Native Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter for the wasm backend, or an empty list when
 * the pack is unavailable. Cases the pack does not cover or would slow down go to `fallback(kernelName)`.
 */
export function nativeConvKernels(
  fallback: (kernelName: string) => tf.KernelConfig | undefined,
): tf.KernelConfig[] {
  const state = load();
  if (!('pack' in state)) return [];
  const { pack } = state;
  const delegate = (kernelName: string, args: KernelArgs) => {
    const other = fallback(kernelName);
    if (!other) throw new Error(`no wasm ${kernelName} kernel for this case`);
    return other.kernelFunc(args) as tf.TensorInfo;
  };
  const conv2D = (args: KernelArgs): tf.TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as tf.Conv2DAttrs;
    const info = conv2DInfo(x.shape, filter.shape, attrs, attrs.dilations);
    if (leaveToWasm(info)) return delegate(tf.Conv2D, args);
    const out = backend.makeOutput(info.outShape, 'float32');
    run(pack, FORWARD, backend, [x, filter, out], info);
    return out;
  };
  const backpropInput = (args: KernelArgs): tf.TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const info = conv2DInfo(attrs.inputShape, filter.shape, attrs);
    if (leaveToWasm(info)) return delegate(tf.Conv2DBackpropInput, args);
    const out = backend.makeOutput(info.inShape, 'float32');
    run(pack, BACKWARD_DATA, backend, [out, filter, dy], info);
    return out;
  };
  const backpropFilter = (args: KernelArgs): tf.TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const info = conv2DInfo(x.shape, attrs.filterShape, attrs);
    if (leaveToWasm(info)) return delegate(tf.Conv2DBackpropFilter, args);
    const out = backend.makeOutput(info.filterShape, 'float32');
    run(pack, BACKWARD_WEIGHTS, backend, [x, out, dy], info);
    return out;
  };
  return [
    {
      kernelName: tf.Conv2D,
      backendName: 'wasm',
      kernelFunc: conv2D,
      setupFunc: fallback(tf.Conv2D)?.setupFunc,
    },
    { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: backpropInput },
    { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: backpropFilter },
  ];
}
