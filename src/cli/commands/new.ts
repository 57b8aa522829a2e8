import type { Command } from 'commander';
import path from 'node:path';
import { scaffoldPlugin } from '../../scaffold/plugin-project.js';
import { PLUGIN_KINDS } from '../../plugin/types.js';
import type { CliContext } from '../context.js';

export function registerNewCommand(program: Command, cli: CliContext): void {
  const create = program.command('new').description('create a plugin project or a plugin from a template');
  create
    .command('plugin')
    .description(
      `write a working plugin of KIND (${PLUGIN_KINDS.join(', ')}) with its contract test into a plugin project`,
    )
    .argument('<kind>', 'plugin kind')
    .argument('<name>', 'plugin name: lower-case letters, digits and dashes')
    .option(
      '--dir <dir>',
      'the project folder: created when it holds no package.json (default: mtlzoo-plugin-NAME)',
    )
    .action((kind: string, name: string, options: { dir?: string }) => {
      const result = scaffoldPlugin(kind, name, options.dir ?? `mtlzoo-plugin-${name}`);
      const shown = path.relative(process.cwd(), result.dir) || '.';
      const lines = [
        `${result.createdProject ? 'created' : 'added to'} ${shown}: ${kind} ${name} (exported as ${result.exportName})`,
        ...result.written.map((file) => `  ${file}`),
        'next:',
        ...(result.createdProject
          ? [
              `  cd ${shown}`,
              '  npm install --save-dev /path/to/mtlzoo-<version>.tgz   # see docs/plugins.md',
            ]
          : []),
        '  npm test',
        `  npx mtlzoo train -c configs/try-${name}.yaml`,
      ];
      cli.output.write(`${lines.join('\n')}\n`);
    });
}
