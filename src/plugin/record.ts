/**
 * The plugin files a run used, recorded in its folder (`plugins.json`): each spec with the file it
 * resolved to and that file's sha256. A run folder is data, not code: loading it again imports a plugin
 * only if it is recorded there with the same content, unless the user trusts the folder explicitly. So a
 * plugin added to a run's config.yaml, or a plugin file changed since the run, is refused before it runs.
 * (The hash covers the plugin's entry file; modules it imports are the package's own business.)
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { MtlzooError } from '../errors.js';

export interface PluginFile {
  readonly spec: string;
  /** The file imported (absolute). */
  readonly file: string;
  readonly sha256: string;
}

export async function describePluginFile(spec: string, file: string): Promise<PluginFile> {
  let data: Buffer;
  try {
    data = await fs.readFile(file);
  } catch (error) {
    throw new MtlzooError('PLUGIN_LOAD', `cannot read plugin ${spec} (${file}): ${(error as Error).message}`);
  }
  return { spec, file, sha256: createHash('sha256').update(data).digest('hex') };
}

/** What differs between the plugins about to load and the record: one line per plugin, empty if none. */
export function unrecordedPlugins(
  current: readonly PluginFile[],
  record: readonly PluginFile[] | undefined,
): string[] {
  return current.flatMap((plugin) => {
    const name = plugin.spec === plugin.file ? plugin.file : `${plugin.spec} (${plugin.file})`;
    const recorded = record?.find((r) => r.file === plugin.file);
    if (!recorded) return [`plugin ${name} is not among the plugins the run used`];
    if (recorded.sha256 !== plugin.sha256) {
      return [
        `plugin ${name} changed since the run used it (sha256 ${plugin.sha256.slice(0, 12)}…, recorded ${recorded.sha256.slice(0, 12)}…)`,
      ];
    }
    return [];
  });
}

/** Refuses plugins that differ from the record, naming each, unless trusted. */
export function assertRecordedPlugins(
  configFile: string,
  current: readonly PluginFile[],
  record: readonly PluginFile[] | undefined,
): void {
  const problems = unrecordedPlugins(current, record);
  if (problems.length > 0) {
    throw new MtlzooError(
      'PLUGIN_UNTRUSTED',
      `${configFile}: ${problems.join('; ')}; a run folder never loads code it did not run with (pass --trust-plugins to load it anyway)`,
      2,
    );
  }
}
