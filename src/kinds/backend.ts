/** Kind `backend`: where tensors live and run. */

/**
 * `backend: auto` tries every backend plugin in priority order (src/backend/select.ts); no plugin may
 * take the name.
 */
export const AUTO_BACKEND = 'auto';

/** The GPU adapter a WebGPU engine runs on (GPUAdapterInfo's fields), recorded beside every run. */
export interface GpuAdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software (CPU-emulated) adapter such as Mesa's llvmpipe: correct, but slower than the CPU engines. */
  isFallbackAdapter: boolean;
}

export type BackendLoadResult =
  | {
      available: true;
      detail?: string;
      /** The GPU adapter, for engines that run on one through WebGPU. */
      adapter?: GpuAdapterDescription;
      /** Set when the engine works but `backend: auto` should pass it over (the reason); it still runs when named. */
      notForAuto?: string;
    }
  | { available: false; reason: string };

export interface BackendEngine {
  /** Name under which the engine registers with tfjs, e.g. `tensorflow`, `wasm`, `cpu`. */
  readonly tfBackendName: string;
  /**
   * Makes the engine's tfjs backend available. Expected absence (package not installed, no GPU visible) is
   * reported as `{ available: false, reason }`, never thrown. `auto` is set when `backend: auto` is
   * trying it: an engine it will pass over (`notForAuto`) may say so without loading anything.
   */
  load(context?: { readonly auto: boolean }): Promise<BackendLoadResult>;
}
