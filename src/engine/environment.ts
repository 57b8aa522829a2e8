/** The hardware and software a result was measured on, recorded beside every run and zoo result. */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { BackendChoice } from '../backend/select.js';
import { formatAdapter } from '../backend/webgpu/adapter.js';
import type { GpuAdapterDescription } from '../kinds/backend.js';
import { nativePackUnavailableReason } from '../backend/wasm-native.js';
import * as tf from '../tf.js';
import { MTLZOO_VERSION, mtlzooCommit } from '../util/package.js';

export interface Environment {
  mtlzoo: string;
  /**
   * mtlzoo's git commit when it runs from a checkout (`-dirty`: with uncommitted changes); null when
   * installed. A bench's results list every commit its runs were trained by, comma-separated.
   */
  commit: string | null;
  node: string;
  tfjs: string;
  backend: string;
  tfBackend: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** GPU model when a GPU backend runs (a software adapter says so); null otherwise. */
  gpu: string | null;
  /** With the webgpu backend: the adapter it ran on (vendor, architecture, description, fallback or not). */
  adapter: GpuAdapterDescription | null;
  /** With the wasm backend: whether the native kernel pack ran the large convolutions. */
  nativePack: boolean;
  /**
   * With the native pack: the OpenMP threads it runs on. Its sums are split into one band per thread, so a
   * run's numbers depend on it (bit for bit); null without the pack.
   */
  threads: number | null;
}

/** mtlzoo's own version (package.json), recorded in every environment. */
export { MTLZOO_VERSION };

export function describeEnvironment(backend: BackendChoice): Environment {
  const cpus = os.cpus();
  const nativePack = backend.name === 'wasm' && nativePackUnavailableReason() === undefined;
  return {
    mtlzoo: MTLZOO_VERSION,
    commit: mtlzooCommit(),
    node: process.version,
    tfjs: tf.version.tfjs,
    backend: backend.name,
    tfBackend: backend.tfBackendName,
    platform: `${os.platform()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    gpu: backend.adapter
      ? formatAdapter(backend.adapter)
      : backend.name === 'tensorflow-gpu'
        ? gpuModel()
        : null,
    adapter: backend.adapter ?? null,
    nativePack,
    threads: nativePack ? openMpThreads() : null,
  };
}

/** ' with the native pack' and its threads when known, for the lines that describe where a result ran. */
export function nativePackNote(env: { nativePack: boolean; threads?: number | null }): string {
  if (!env.nativePack) return '';
  const threads = env.threads ? ` on ${env.threads} thread${env.threads === 1 ? '' : 's'}` : '';
  return ` with the native pack${threads}`;
}

/** What OpenMP takes: the first number of OMP_NUM_THREADS when set, else every core the process may use. */
export function openMpThreads(env: NodeJS.ProcessEnv = process.env): number {
  const set = Number.parseInt(env['OMP_NUM_THREADS'] ?? '', 10);
  return set > 0 ? set : os.availableParallelism();
}

/** Models of the NVIDIA GPUs the driver lists (/proc/driver/nvidia/gpus/<bus id>/information). */
function gpuModel(): string {
  const root = '/proc/driver/nvidia/gpus';
  try {
    const models = readdirSync(root).map((bus) => {
      const info = readFileSync(`${root}/${bus}/information`, 'utf8');
      return /^Model:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? 'NVIDIA GPU';
    });
    return models.length > 0 ? models.join(', ') : 'NVIDIA GPU';
  } catch {
    return 'NVIDIA GPU';
  }
}
