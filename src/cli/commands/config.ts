import type { Command } from 'commander';
import { stringify } from 'yaml';
import { displayPath } from '../../util/paths.js';
import type { CliContext } from '../context.js';

export function registerConfigCommand(program: Command, cli: CliContext): void {
  const config = program.command('config').description('resolve and validate experiment configs');

  config
    .command('print')
    .description('print the fully resolved config (bases merged, defaults filled) and its hash')
    .argument('[file]', 'config file (default: search for mtlzoo.config.* / .mtlzoorc* / package.json)')
    .option('--json', 'print JSON instead of YAML')
    .action(async (file: string | undefined, options: { json?: boolean }) => {
      const loaded = await cli.createKernel().loadConfig(file);
      if (options.json) {
        cli.output.write(`${JSON.stringify({ hash: loaded.hash, config: loaded.config }, null, 2)}\n`);
        return;
      }
      const chain = loaded.files.map(displayPath).join(' ← ');
      cli.output.write(`# resolved from ${chain}\n# hash: ${loaded.hash}\n${stringify(loaded.config)}`);
    });

  config
    .command('check')
    .description('validate a config; exit 0 when valid, 2 with every problem otherwise')
    .argument('[file]', 'config file (default: search)')
    .action(async (file: string | undefined) => {
      const loaded = await cli.createKernel().loadConfig(file);
      cli.output.write(`${displayPath(loaded.file)}: valid (hash ${loaded.hash})\n`);
    });
}
