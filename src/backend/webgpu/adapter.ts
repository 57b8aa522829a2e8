/**
 * WebGPU in Node through Dawn (the optional `webgpu` package): installs `navigator.gpu` and the WebGPU
 * constants as globals, as @tensorflow/tfjs-backend-webgpu expects of a browser, and describes the adapter
 * Dawn offers. Dawn reaches the GPU through Vulkan on Linux, Metal on macOS and D3D12 on Windows; with no
 * GPU, Mesa's software Vulkan driver (llvmpipe) appears as a fallback adapter.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
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

const dawnMissing = (error: unknown) =>
  `the optional package "webgpu" (Dawn's Node bindings) is not installed or failed to load: ${(error as Error).message.split('\n')[0]}`;

async function loadDawn(): Promise<Gpu | string> {
  let dawn: DawnModule;
  try {
    dawn = (await import(DAWN_PACKAGE)) as DawnModule;
  } catch (error) {
    return dawnMissing(error);
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

const NO_ADAPTER =
  'Dawn found no WebGPU adapter: no Vulkan driver for a GPU is installed (on a machine without a GPU, ' +
  "Mesa's software driver mesa-vulkan-drivers >= 25 gives a fallback adapter; see docs/performance.md)";

function describeAdapter(adapter: Adapter): GpuAdapterDescription {
  const { info } = adapter;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    // GPUAdapterInfo.isFallbackAdapter replaced GPUAdapter.isFallbackAdapter in the spec.
    isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
  };
}

/** The adapter Dawn would hand to @tensorflow/tfjs-backend-webgpu for this preference, or why there is none. */
export async function findAdapter(powerPreference: PowerPreference): Promise<AdapterLookup> {
  const instance = await webgpuInstance();
  if (typeof instance === 'string') return { adapter: null, reason: instance };
  const adapter = await instance.requestAdapter({ powerPreference });
  return adapter === null ? { adapter: null, reason: NO_ADAPTER } : { adapter: describeAdapter(adapter) };
}

// Run by a child process: the adapter's fields as JSON, or null.
const PROBE = `
const [url, powerPreference] = process.argv.slice(1);
const adapter = await (await import(url)).create([]).requestAdapter({ powerPreference });
const info = adapter && adapter.info;
process.stdout.write(JSON.stringify(adapter && {
  info: { vendor: info.vendor, architecture: info.architecture, device: info.device,
    description: info.description, isFallbackAdapter: info.isFallbackAdapter },
  isFallbackAdapter: adapter.isFallbackAdapter,
}));
process.exit(0);
`;

/**
 * findAdapter in a child process, for `backend: auto`: Dawn stays out of this process unless it will be
 * used, and what it prints while it looks (on llvmpipe, two warnings about limits it reduces) goes nowhere.
 */
export async function probeAdapter(powerPreference: PowerPreference): Promise<AdapterLookup> {
  let url: string;
  try {
    // createRequire rather than import.meta.resolve, which TypeScript loaders (tsx) do not provide.
    url = pathToFileURL(createRequire(import.meta.url).resolve(DAWN_PACKAGE)).href;
  } catch (error) {
    return { adapter: null, reason: dawnMissing(error) };
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE, url, powerPreference],
      { timeout: 60_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          const why = stderr.trim().split('\n').at(-1) || error.message.split('\n')[0];
          resolve({ adapter: null, reason: `Dawn failed while looking for an adapter: ${why}` });
          return;
        }
        let found: Adapter | null;
        try {
          found = JSON.parse(stdout) as Adapter | null;
        } catch {
          resolve({
            adapter: null,
            reason: `Dawn's adapter probe printed no description: ${stdout.slice(0, 200)}`,
          });
          return;
        }
        resolve(found === null ? { adapter: null, reason: NO_ADAPTER } : { adapter: describeAdapter(found) });
      },
    );
  });
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
