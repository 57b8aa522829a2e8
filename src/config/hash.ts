import { keyHash } from '../util/hash.js';
import { valueAt } from './issues.js';
import type { KeyPath } from './resolve.js';
import type { ExperimentConfig } from './schema.js';

/**
/**
 * Content hash of what determines a run's results. Where outputs go (`output`), where plugin modules
 * are loaded from (`plugins`, absolute paths once resolved) and how often wall time triggers a checkpoint
 * (`train.checkpointMinutes`) do not change results, so they are left out: the same experiment hashes the
 * same in any checkout. The plugins used are in it by name and options; the backend is kept, since engines
 * differ in floating-point detail. `omit` names further values left out: plugin options that are data
 * paths (src/config/paths.ts), absolute once resolved. Equal weighting without options hashes as the
 * `{ name: equal }` it was before weighting became a plugin kind, so earlier runs keep their hashes.
 */
export function configHash(config: ExperimentConfig, omit: readonly KeyPath[] = []): string {
  const {
    output: _output,
    plugins: _plugins,
    train: { checkpointMinutes: _minutes, ...train },
    ...rest
  } = omit.length > 0 ? structuredClone(config) : config;
  const { weighting } = train;
  const legacy = weighting.name === 'equal' && Object.keys(weighting.options).length === 0;
  const hashed: Record<string, unknown> = {
    ...rest,
    train: legacy ? { ...train, weighting: { name: 'equal' } } : train,
  };
  for (const keyPath of omit) {
    const parent = valueAt(hashed, keyPath.slice(0, -1)) as Record<string | number, unknown> | undefined;
    if (parent) delete parent[keyPath.at(-1)!];
  }
  return keyHash(hashed);
}
