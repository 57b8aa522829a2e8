import { createHash } from 'node:crypto';
import type { ExperimentConfig } from './schema.js';

/** JSON with object keys sorted at every depth, so equal configs serialise identically. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * Content hash of what determines a run's results. Where outputs go (`output`) does not change results,
 * so it is left out; the backend is kept, since engines differ in floating-point detail.
 */
export function configHash(config: ExperimentConfig): string {
  const { output: _output, ...rest } = config;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex').slice(0, 16);
}
