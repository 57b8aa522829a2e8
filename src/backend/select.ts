/**
 * Chooses the engine a run uses. `auto` walks the backends fastest-first and takes the first that loads and
 * passes the training smoke test; every backend passed over is reported with its reason.
 */
import { MtlzooError, isMtlzooError } from '../errors.js';
import type { PluginRef } from '../config/schema.js';
import { AUTO_BACKEND, type BackendEngine, type GpuAdapterDescription } from '../kinds/backend.js';
import type { PluginRegistries } from '../plugin/registry.js';
import * as tf from '../tf.js';
import { explainFailure, runBackendSmokeTest } from './smoke-test.js';

/**
 * Built-in engines, fastest first. Third-party backends are tried after these, before `cpu`. `webgpu`
 * counts only on a hardware adapter: its engine marks a software one `notForAuto`.
 */
export const AUTO_ORDER = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;

export interface BackendAttempt {
  name: string;
  selected: boolean;
  /** Why it was passed over, or what it is when selected. */
  reason: string;
}

export interface BackendChoice {
  /** Backend plugin name. */
  name: string;
  /** Name of the tfjs backend now active. */
  tfBackendName: string;
  attempts: BackendAttempt[];
  /** The GPU adapter, when the engine runs on one through WebGPU. */
  adapter?: GpuAdapterDescription;
}

function autoCandidates(registries: PluginRegistries): string[] {
  const registered = registries.of('backend').names();
  const builtins = AUTO_ORDER.filter((n) => n !== 'cpu' && registered.includes(n));
  const thirdParty = registered.filter((n) => !(AUTO_ORDER as readonly string[]).includes(n));
  return [...builtins, ...thirdParty, ...(registered.includes('cpu') ? ['cpu'] : [])];
}

async function tryBackend(
  registries: PluginRegistries,
  name: string,
  options: Record<string, unknown>,
  auto: boolean,
): Promise<
  | { ok: true; tfBackendName: string; detail: string; adapter?: GpuAdapterDescription }
  | { ok: false; reason: string }
> {
  let engine: BackendEngine;
  try {
    engine = await registries.build('backend', { name, options }, {});
  } catch (error) {
    // A backend that cannot even be created is passed over like one that does not load.
    if (!isMtlzooError(error) || error.code === 'PLUGIN_UNKNOWN') throw error;
    return { ok: false, reason: error.message };
  }
  const loaded = await engine.load({ auto });
  if (!loaded.available) return { ok: false, reason: loaded.reason };
  if (auto && loaded.notForAuto !== undefined) return { ok: false, reason: loaded.notForAuto };
  let initialised = false;
  try {
    initialised = await tf.setBackend(engine.tfBackendName);
  } catch (error) {
    return { ok: false, reason: `failed to initialise: ${explainFailure(error)}` };
  }
  if (!initialised)
    return { ok: false, reason: `tfjs could not initialise backend "${engine.tfBackendName}"` };
  try {
    await runBackendSmokeTest();
  } catch (error) {
    return { ok: false, reason: `failed the training smoke test: ${explainFailure(error)}` };
  }
  return {
    ok: true,
    tfBackendName: engine.tfBackendName,
    detail: `passed the training smoke test${loaded.detail ? ` (${loaded.detail})` : ''}`,
    ...(loaded.adapter ? { adapter: loaded.adapter } : {}),
  };
}

/** Activates the configured backend (or the best available for `auto`) and says why. */
export async function selectBackend(ref: PluginRef, registries: PluginRegistries): Promise<BackendChoice> {
  const auto = ref.name === AUTO_BACKEND;
  const candidates = auto ? autoCandidates(registries) : [ref.name];
  const attempts: BackendAttempt[] = [];
  for (const name of candidates) {
    const result = await tryBackend(registries, name, auto ? {} : ref.options, auto);
    if (result.ok) {
      attempts.push({ name, selected: true, reason: result.detail });
      const { tfBackendName, adapter } = result;
      return { name, tfBackendName, attempts, ...(adapter ? { adapter } : {}) };
    }
    attempts.push({ name, selected: false, reason: result.reason });
  }
  const summary = attempts.map((a) => `${a.name}: ${a.reason}`).join('; ');
  throw new MtlzooError(
    'BACKEND_UNAVAILABLE',
    auto ? `no backend can train here: ${summary}` : `backend "${ref.name}" is unavailable: ${summary}`,
  );
}

export function formatBackendChoice(choice: BackendChoice): string {
  const lines = [`backend: ${choice.name}`];
  for (const attempt of choice.attempts) {
    lines.push(`  ${attempt.selected ? '✓' : '✗'} ${attempt.name}: ${attempt.reason}`);
  }
  return lines.join('\n');
}
