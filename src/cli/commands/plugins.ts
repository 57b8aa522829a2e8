import type { Command } from 'commander';
import { MtlzooError } from '../../errors.js';
import { PLUGIN_KINDS, type PluginKind } from '../../plugin/types.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../../util/table.js';

export function registerPluginsCommand(program: Command, cli: CliContext): void {
  program
    .command('plugins')
    .description('list registered plugins (built-ins and those a config loads)')
    .option('-k, --kind <kind>', `only this kind (${PLUGIN_KINDS.join(', ')})`)
    .option('-c, --config <file>', 'also load the plugins this config names')
    .option('--json', 'print a JSON array')
    .action(async (options: { kind?: string; config?: string; json?: boolean }) => {
      if (options.kind !== undefined && !PLUGIN_KINDS.includes(options.kind as PluginKind)) {
        throw new MtlzooError(
          'USAGE',
          `--kind: expected one of ${PLUGIN_KINDS.join(', ')}, got "${options.kind}"`,
          2,
        );
      }
      const kernel = cli.createKernel();
      if (options.config) await kernel.loadConfig(options.config);
      const rows = kernel.registries
        .all()
        .filter(({ kind }) => options.kind === undefined || kind === options.kind)
        .map(({ kind, entry }) => ({
          kind,
          name: entry.plugin.name,
          version: entry.plugin.version,
          source: entry.source,
          description: entry.plugin.description,
        }));
      if (options.json) {
        cli.output.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      cli.output.write(
        formatTable(
          ['KIND', 'NAME', 'VERSION', 'SOURCE', 'DESCRIPTION'],
          rows.map((r) => [r.kind, r.name, r.version, r.source, r.description]),
        ),
      );
    });
}
