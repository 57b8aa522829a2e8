/**
 * Loading the config saved in a run folder. A run folder is data: its config.yaml is resolved (it never
 * extends other files), and the plugins it names are imported only when they are the files, with the same
 * content, that the run recorded in plugins.json — unless the kernel trusts run plugins (`--trust-plugins`),
 * in which case a difference is a warning.
 */
import type { LoadedConfig } from '../config/load.js';
import type { Kernel } from '../kernel/kernel.js';
import { assertRecordedPlugins, unrecordedPlugins } from '../plugin/record.js';
import type { RunDir } from './run-dir.js';

export async function loadRunConfig(kernel: Kernel, run: RunDir): Promise<LoadedConfig> {
  const record = await run.recordedPlugins();
  const file = run.path('config');
  return kernel.loadConfig(file, undefined, {
    refuseExtends: "a run's config.yaml is resolved and never extends other files",
    checkPlugins: (plugins) => {
      if (!kernel.trustRunPlugins) assertRecordedPlugins(file, plugins, record);
      for (const problem of unrecordedPlugins(plugins, record))
        kernel.logger.warn(`${file}: ${problem}; loading it as trusted`);
    },
  });
}
