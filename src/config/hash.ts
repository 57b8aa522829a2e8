import { keyHash } from '../util/hash.js';
import type { ExperimentConfig } from './schema.js';

/**
 * Content hash of what determines a run's results. Where outputs go (`output`) does not change results,
 * so it is left out; the backend is kept, since engines differ in floating-point detail.
 */
export function configHash(config: ExperimentConfig): string {
  const { output: _output, ...rest } = config;
  return keyHash(rest);
}
