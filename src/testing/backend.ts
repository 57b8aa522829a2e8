/**
 * The backend contract harness: `checkBackendContract`. A backend's `load` must resolve, never throw, to
 * available or unavailable with a reason (absence is expected: a package not installed, no GPU). When
 * available, the engine must start and pass the training smoke test mtlzoo runs before it trains on any
 * backend: a forward and backward pass through the ops of a training step, compared with the cpu
 * reference. The backend active before the check is active again after it.
 */
import { explainFailure, runBackendSmokeTest } from '../backend/smoke-test.js';
import type { BackendLoadResult } from '../kinds/backend.js';
import type { AnyPluginOf } from '../kinds/index.js';
import * as tf from '../tf.js';
import { check, fail } from './assertions.js';
import { buildPlugin, checkedOptions } from './plugin.js';

/** What `load` said, and the tfjs backend the engine registers as. */
export type BackendContractReport = BackendLoadResult & { readonly tfBackendName: string };

/** Checks a backend plugin; returns what its `load` reported. */
export async function checkBackendContract(
  plugin: AnyPluginOf<'backend'>,
  rawOptions: unknown,
): Promise<BackendContractReport> {
  const label = `backend ${plugin.name}`;
  const engine = await buildPlugin('backend', plugin, checkedOptions('backend', plugin, rawOptions), {});
  const tfBackendName = engine.tfBackendName;
  check(typeof tfBackendName === 'string' && tfBackendName.length > 0, () => `${label}: no tfBackendName`);
  let loaded: BackendLoadResult;
  try {
    loaded = await engine.load();
  } catch (error) {
    fail(`${label}: load() threw (report absence as { available: false, reason }): ${explainFailure(error)}`);
  }
  check(
    typeof loaded?.available === 'boolean',
    () => `${label}: load() resolved to ${JSON.stringify(loaded)}`,
  );
  if (!loaded.available) {
    check(
      typeof loaded.reason === 'string' && loaded.reason.length > 0,
      () => `${label}: unavailable without a reason`,
    );
    return { ...loaded, tfBackendName };
  }
  await tf.ready(); // a fresh process has no backend until first use; this one is restored afterwards
  const previous = tf.getBackend();
  try {
    check(
      await tf.setBackend(tfBackendName),
      () => `${label}: tfjs could not start backend "${tfBackendName}"`,
    );
    try {
      await runBackendSmokeTest();
    } catch (error) {
      fail(`${label}: failed the training smoke test: ${explainFailure(error)}`);
    }
  } finally {
    await tf.setBackend(previous);
  }
  return { ...loaded, tfBackendName };
}
