import { keyHash } from '../util/hash.js';
import type { ExperimentConfig } from './schema.js';

/**
 * Content hash of what determines a run's results. Where outputs go (`output`), where plugin modules
 * are loaded from (`plugins`, absolute paths once resolved) and how often wall time triggers a checkpoint
 * (`train.checkpointMinutes`) do not change results, so they are left out: the same experiment hashes the
 * same in any checkout. The plugins used are in it by name and options; the backend is kept, since engines
 * differ in floating-point detail.
 */
export function configHash(config: ExperimentConfig): string {
  const {
    output: _output,
    plugins: _plugins,
    train: { checkpointMinutes: _minutes, ...train },
    ...rest
  } = config;
  return keyHash({ ...rest, train });
}
