/**
 * The optional native kernel pack (native/, an N-API addon over oneDNN and OpenMP): convolutions and the
 * large pooling, element-wise and reduction kernels of a training step on every core, computed in place on
 * the wasm backend's heap so that every other op stays in wasm. The kernels that use it live in
 * src/backend/wasm-kernels/ (their `native` part). Built by `npm install` where a compiler and oneDNN's
 * headers are present (native/install.js), switched off by MTLZOO_NATIVE=0, and refused when the installed
 * tfjs is not the version whose heap layout it was written against.
 */
import { createRequire } from 'node:module';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type * as tf from '../tf.js';
import { loadNativeAddon } from '../util/native-addon.js';

/**
 * The addon's entry points (native/src/<name>.cc). Offsets are byte offsets into `heap`; the addon checks
 * each tensor it touches lies inside the heap and throws a JavaScript error otherwise.
 */
export interface NativePack {
  /** op 0: forward (src, weights → dst); 1: backward data (dst, weights → src); 2: backward weights. */
  conv(op: number, heap: ArrayBuffer, src: number, weights: number, dst: number, params: Int32Array): void;
  /** The forward pass adding a per-channel bias, then ReLU when relu is 1. */
  fusedConv(
    heap: ArrayBuffer,
    src: number,
    weights: number,
    bias: number,
    dst: number,
    params: Int32Array,
    relu: number,
  ): void;
  /** Sizes: n, h, w, c, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft. */
  maxPool(heap: ArrayBuffer, x: number, y: number, ...sizes: number[]): void;
  maxPoolGrad(heap: ArrayBuffer, x: number, dy: number, dx: number, ...sizes: number[]): void;
  /** op 0: Relu, 1: Step (alpha where x ≤ 0), 2: Square. */
  unary(op: number, heap: ArrayBuffer, x: number, out: number, size: number, alpha: number): void;
  /** out[i] = op(full[i], small[i % period]), or op(small[…], full[i]) when smallFirst is 1; op 0–3: + − × ÷. */
  binary(
    op: number,
    heap: ArrayBuffer,
    full: number,
    small: number,
    out: number,
    size: number,
    period: number,
    smallFirst: number,
  ): void;
  /** out[i] = x[i % period]. */
  repeat(heap: ArrayBuffer, x: number, out: number, size: number, period: number): void;
  /** out[c] = Σ_r x[r, c] / divisor over a [rows, cols] view of x, summed in double. */
  sumRows(heap: ArrayBuffer, x: number, out: number, rows: number, cols: number, divisor: number): void;
  /** Training-mode batch normalisation of x seen as [rows, channels] (relu: 0 or 1). */
  batchNorm(
    heap: ArrayBuffer,
    x: number,
    gamma: number,
    beta: number,
    y: number,
    mean: number,
    variance: number,
    rows: number,
    channels: number,
    epsilon: number,
    relu: number,
  ): void;
  /** Its gradient: reads dy, x, gamma, mean, variance, y; writes dx, dgamma, dbeta. */
  batchNormGrad(heap: ArrayBuffer, ...offsetsSizesEpsilonRelu: number[]): void;
  /** One Adam step: reads value, gradient, m, v, correction; writes the new value, m, v. */
  adamUpdate(heap: ArrayBuffer, ...offsetsSizeHyperparameters: number[]): void;
  /** y = x·scale + shift per channel of x seen as [rows, channels], then ReLU when relu is 1. */
  scaleShift(
    heap: ArrayBuffer,
    x: number,
    scale: number,
    shift: number,
    y: number,
    rows: number,
    channels: number,
    relu: number,
  ): void;
}

/**
 * The tfjs version the pack and the wasm kernels were written and tested against: they read
 * tfjs-backend-wasm's heap bookkeeping (`dataIdMap`, `memoryOffset`), which is not a public API.
 * package.json pins @tensorflow/tfjs* to exactly this version (test/native-pack.test.ts keeps them equal).
 */
export const TESTED_TFJS_VERSION = '4.22.0';

/** A size threshold that tests can move: its value, and a setter that returns the previous one. */
export function threshold(initial: number): { value(): number; set(value: number): number } {
  let current = initial;
  return {
    value: () => current,
    set(value) {
      const previous = current;
      current = value;
      return previous;
    },
  };
}

/**
 * Below this many multiply-adds (per pass) waking oneDNN's other threads can cost more than they save (up
 * to ~10 ms when the other core is busy), so the convolution runs on the calling thread; on one thread
 * oneDNN still beats XNNPACK by 2–10× from 3e5 multiply-adds up (docs/performance.md).
 */
export const NATIVE_MIN_MACS = 1e8;
const minMultiplyAdds = threshold(NATIVE_MIN_MACS);

/** Sets the size below which convolutions run on one thread (tests set 0 or Infinity); returns the old one. */
export const setNativeThreshold = minMultiplyAdds.set;

/** Threads a convolution of this many multiply-adds runs on: 1, or 0 for all. */
export function convolutionThreads(multiplyAdds: number): number {
  return multiplyAdds < minMultiplyAdds.value() ? 1 : 0;
}

/**
 * Below this many elements the pooling, element-wise, Tile and reduction kernels stay in wasm, where the
 * call costs less (the pack itself uses one thread below 2^18 elements; docs/performance.md).
 */
export const NATIVE_MIN_ELEMENTS = 4096;
const minElements = threshold(NATIVE_MIN_ELEMENTS);

/** Sets the size below which the non-convolution kernels stay in wasm; returns the old one. */
export const setNativeElementThreshold = minElements.set;

/** Whether a non-convolution kernel leaves this many elements to wasm; empty tensors always (nothing to gain). */
export function fewElements(size: number): boolean {
  return size === 0 || size < minElements.value();
}

/** Why the installed tfjs cannot carry the pack, or undefined when it is the tested version. */
export function versionMismatch(installed: Record<string, string>): string | undefined {
  const wrong = Object.entries(installed).filter(([, version]) => version !== TESTED_TFJS_VERSION);
  if (wrong.length === 0) return undefined;
  const found = wrong.map(([name, version]) => `${name} ${version}`).join(', ');
  return `refused: it reads tfjs-backend-wasm's heap internals and is tested with tfjs ${TESTED_TFJS_VERSION}, found ${found} (reinstall with npm ci, or set MTLZOO_NATIVE=0)`;
}

let loaded: { pack: NativePack } | { reason: string } | undefined;

function installedVersions(require: NodeRequire): Record<string, string> {
  const versionOf = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return {
    '@tensorflow/tfjs-core': versionOf('@tensorflow/tfjs-core'),
    '@tensorflow/tfjs-backend-wasm': versionOf('@tensorflow/tfjs-backend-wasm'),
  };
}

/** Every entry point, checked when the addon loads (a key missing here fails to compile). */
const PACK_ENTRY_POINTS = Object.keys({
  conv: true,
  fusedConv: true,
  maxPool: true,
  maxPoolGrad: true,
  unary: true,
  binary: true,
  repeat: true,
  sumRows: true,
  batchNorm: true,
  batchNormGrad: true,
  adamUpdate: true,
  scaleShift: true,
} satisfies Record<keyof NativePack, true>) as (keyof NativePack)[];

function load(): { pack: NativePack } | { reason: string } {
  if (loaded) return loaded;
  if (process.env['MTLZOO_NATIVE'] === '0') return (loaded = { reason: 'disabled by MTLZOO_NATIVE=0' });
  const mismatch = versionMismatch(installedVersions(createRequire(import.meta.url)));
  if (mismatch !== undefined) return (loaded = { reason: mismatch });
  const state = loadNativeAddon<NativePack>('mtlzoo_native.node', PACK_ENTRY_POINTS);
  return (loaded = 'addon' in state ? { pack: state.addon } : state);
}

/** The pack, or undefined when it is not in use. */
export function nativePack(): NativePack | undefined {
  const state = load();
  return 'pack' in state ? state.pack : undefined;
}

/** Why the native pack is not in use, or undefined when it is available. */
export function nativePackUnavailableReason(): string | undefined {
  const state = load();
  return 'reason' in state ? state.reason : undefined;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function offsetOf(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

/** The wasm heap. Taken only after the outputs are allocated: allocating may have grown (and replaced) it. */
export function heapOf(backend: BackendWasm, out: tf.TensorInfo): ArrayBuffer {
  return backend.typedArrayFromHeap(out).buffer as ArrayBuffer;
}
