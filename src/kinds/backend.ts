/** Kind `backend`: where tensors live and run. */

/**
 * `backend: auto` tries every backend plugin in priority order (src/backend/select.ts); no plugin may
 * take the name.
 */
export const AUTO_BACKEND = 'auto';

export type BackendLoadResult = { available: true; detail?: string } | { available: false; reason: string };

export interface BackendEngine {
  /** Name under which the engine registers with tfjs, e.g. `tensorflow`, `wasm`, `cpu`. */
  readonly tfBackendName: string;
  /**
   * Makes the engine's tfjs backend available. Expected absence (package not installed, no GPU visible) is
   * reported as `{ available: false, reason }`, never thrown.
   */
  load(): Promise<BackendLoadResult>;
}
