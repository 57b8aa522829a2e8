/** The hardware and software a result was measured on, recorded beside every run and zoo result. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { BackendChoice } from '../backend/select.js';
import * as tf from '../tf.js';

export interface Environment {
  mtlzoo: string;
  node: string;
  tfjs: string;
  backend: string;
  tfBackend: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** GPU model when a GPU backend runs; null otherwise. */
  gpu: string | null;
}

export const MTLZOO_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function describeEnvironment(backend: BackendChoice): Environment {
  const cpus = os.cpus();
  return {
    mtlzoo: MTLZOO_VERSION,
    node: process.version,
    tfjs: tf.version.tfjs,
    backend: backend.name,
    tfBackend: backend.tfBackendName,
    platform: `${os.platform()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    gpu: backend.name === 'tensorflow-gpu' ? gpuModel() : null,
  };
}

function gpuModel(): string {
  try {
    return readFileSync('/proc/driver/nvidia/gpus', 'utf8').trim() || 'NVIDIA GPU';
  } catch {
    return 'NVIDIA GPU';
  }
}
