/**
 * WebGPU in Node through Dawn (the optional `webgpu` package): installs `navigator.gpu` and the WebGPU
 * constants as globals, as @tensorflow/tfjs-backend-webgpu expects of a browser, and describes the adapter
 * Dawn offers. Dawn reaches the GPU through Vulkan on Linux, Metal on macOS and D3D12 on Windows; with no
 * GPU, Mesa's software Vulkan driver (llvmpipe) appears as a fallback adapter.
 */
import type { GpuAdapterDescription } from '../../kinds/backend.js';

export type PowerPreference = 'high-performance' | 'low-power';

export type AdapterLookup = { adapter: GpuAdapterDescription } | { adapter: null; reason: string };

// The little of WebGPU's API used here, declared locally: `webgpu` and its types are optional dependencies.
interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}
interface Adapter {
  readonly info: AdapterInfo;
  readonly isFallbackAdapter?: boolean;
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: PowerPreference }): Promise<Adapter | null>;
}
interface DawnModule {
  create(options: string[]): Gpu;
  globals: Record<string, unknown>;
}

/** Resolved through a variable so that type-checking does not require the optional package. */
const DAWN_PACKAGE = 'webgpu';

let gpu: Promise<Gpu | string> | undefined;

async function loadDawn(): Promise<Gpu | string> {
  let dawn: DawnModule;
  try {
    dawn = (await import(DAWN_PACKAGE)) as DawnModule;
  } catch (error) {
    return `the optional package "webgpu" (Dawn's Node bindings) is not installed or failed to load: ${(error as Error).message.split('\n')[0]}`;
  }
  const instance = dawn.create([]);
  // The GPU* classes and the GPUBufferUsage/GPUMapMode/... constants the backend's shaders are built with.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true });
  }
  // Node 21+ has a navigator without `gpu`; Node 20 has none.
  const holder = globalThis as { navigator?: object };
  if (holder.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  }
  Object.defineProperty(holder.navigator!, 'gpu', { value: instance, configurable: true });
  return instance;
}

/** Dawn's GPU object (created once per process), or why there is none. */
export function webgpuInstance(): Promise<Gpu | string> {
  gpu ??= loadDawn();
  return gpu;
}

/** The adapter Dawn would hand to @tensorflow/tfjs-backend-webgpu for this preference, or why there is none. */
export async function findAdapter(powerPreference: PowerPreference): Promise<AdapterLookup> {
  const instance = await webgpuInstance();
  if (typeof instance === 'string') return { adapter: null, reason: instance };
  const adapter = await instance.requestAdapter({ powerPreference });
  if (adapter === null) {
    return {
      adapter: null,
      reason:
        'Dawn found no WebGPU adapter: no Vulkan driver for a GPU is installed (on a machine without a GPU, ' +
        "Mesa's software driver mesa-vulkan-drivers >= 25 gives a fallback adapter; see docs/performance.md)",
    };
  }
  const { info } = adapter;
  return {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      // GPUAdapterInfo.isFallbackAdapter replaced GPUAdapter.isFallbackAdapter in the spec.
      isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
    },
  };
}

/** One line naming the adapter: `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) [vendor mesa, architecture software, fallback]`. */
export function formatAdapter(adapter: GpuAdapterDescription): string {
  const name = adapter.description || adapter.device || 'unnamed adapter';
  const facts = [
    adapter.vendor && `vendor ${adapter.vendor}`,
    adapter.architecture && `architecture ${adapter.architecture}`,
    adapter.isFallbackAdapter && 'fallback',
  ].filter(Boolean);
  return facts.length > 0 ? `${name} [${facts.join(', ')}]` : name;
}
