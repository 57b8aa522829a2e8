import type { Command } from 'commander';
import { MtlzooError } from '../../errors.js';
import { buildParamsTable, formatParamsTable } from '../../report/params-table.js';
import type { CliContext } from '../context.js';

export function registerParamsCommand(program: Command, cli: CliContext): void {
  program
    .command('params')
    .description(
      'parameters, storage and gallery passes of every method for the configured backbone and tasks',
    )
    .option('-c, --config <file>', 'experiment config (default: search)')
    .option(
      '--tasks <n>',
      "number of tasks (default: the configured dataset's, from its options and list files; no image is decoded and the data need not be present)",
    )
    .option('--markdown', 'print a markdown table')
    .option('--json', 'print JSON')
    .action(async (options: { config?: string; tasks?: string; markdown?: boolean; json?: boolean }) => {
      const kernel = cli.createKernel();
      const loaded = await kernel.loadConfig(options.config);
      const { config } = loaded;
      const backbone = await kernel.createBackbone(config);
      let taskCount: number;
      if (options.tasks !== undefined) {
        taskCount = Number(options.tasks);
        if (!Number.isInteger(taskCount) || taskCount < 1) {
          throw new MtlzooError('USAGE', `--tasks: expected a positive integer, got "${options.tasks}"`, 2);
        }
      } else {
        const described = await kernel.describeDataset(config);
        if (described.missing) kernel.logger.info(`${described.missing}; tasks from the config`);
        taskCount = described.tasks.length;
      }
      const rows = await buildParamsTable({
        backbone,
        taskCount,
        registries: kernel.registries,
        seed: config.seed,
      });
      if (options.json) {
        cli.output.write(`${JSON.stringify({ backbone: backbone.description, taskCount, rows }, null, 2)}\n`);
        return;
      }
      const [h, w] = backbone.description.inputShape;
      cli.output.write(
        `${config.backbone.name} at ${h}×${w}, ${taskCount} tasks\n${formatParamsTable(rows, options.markdown ? 'markdown' : 'plain')}`,
      );
    });
}
