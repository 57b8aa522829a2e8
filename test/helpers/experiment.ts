import path from 'node:path';
import { Kernel } from '../../src/kernel/kernel.js';
import { createMemoryLogger } from '../../src/util/logger.js';
import { writeFiles } from './files.js';

/** A small, fast experiment on the cpu reference backend: tiny backbone at 16 px, few shapes images. */
export function smallConfig(overrides: { method?: string; steps?: number; extra?: string } = {}): string {
  return `seed: 5
backend: cpu
backbone:
  name: tiny
  options: { inputSize: 16, channels: [4, 8], embeddingDim: 8 }
method: ${overrides.method ?? 'modulation'}
dataset:
  name: shapes
  options:
    counts: { train: 160, val: 48, test: 48 }
    tasks: [colour, shape, position]
evaluators:
  - name: triplet-accuracy
    options: { tripletsPerTask: 60 }
  - name: retrieval
    options: { k: [1, 5], maxQueries: 20 }
  - storage
train:
  steps: ${overrides.steps ?? 6}
  batch: { tripletsPerTask: 4 }
  logEvery: 1
${overrides.extra ?? ''}`;
}

export async function loadSmall(dir: string, text: string, file = 'exp.yaml') {
  writeFiles(dir, { [file]: text });
  const kernel = new Kernel({ logger: createMemoryLogger() });
  const loaded = await kernel.loadConfig(path.join(dir, file));
  return { kernel, loaded };
}
