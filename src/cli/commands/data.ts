import type { Command } from 'commander';
import { formatDatasetReport, inspectDataset, writePreview } from '../../data/index.js';
import { MtlzooError } from '../../errors.js';
import type { Dataset, SplitName } from '../../kinds/dataset.js';
import { SPLIT_NAMES } from '../../kinds/dataset.js';
import type { CliContext } from '../context.js';

/** Builds only the configured dataset (at the backbone's input size), not the model. */
async function openDataset(cli: CliContext, configFile: string | undefined): Promise<Dataset> {
  const kernel = cli.createKernel();
  const { config } = await kernel.loadConfig(configFile);
  return kernel.createDataset(config, await kernel.createBackbone(config));
}

export function registerDataCommand(program: Command, cli: CliContext): void {
  const data = program.command('data').description('look at the configured dataset');

  data
    .command('inspect')
    .description(
      'check a dataset before training: per split and task, images, label counts, unlabelled images, triplets, and every problem (exit 1 if any)',
    )
    .option('-c, --config <file>', 'experiment config (default: search)')
    .option('--decode', 'also decode every image into the cache (finds bad images; slow on real data)')
    .option('--json', 'print JSON')
    .action(async (options: { config?: string; decode?: boolean; json?: boolean }) => {
      const kernel = cli.createKernel();
      const { config } = await kernel.loadConfig(options.config);
      const data = options.decode
        ? await kernel.createDataset(config, await kernel.createBackbone(config))
        : await kernel.describeDataset(config);
      const report = inspectDataset(data);
      cli.output.write(
        options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDatasetReport(report)}\n`,
      );
      if (report.problems.length > 0) {
        throw new MtlzooError(
          'DATA_INVALID',
          `dataset ${report.dataset}: ${report.problems.length} problem(s) would stop training (listed above)`,
        );
      }
    });

  data
    .command('preview')
    .description('a contact sheet of samples with their labels, as PNG')
    .option('-c, --config <file>', 'experiment config (default: search)')
    .requiredOption('--out <file>', 'PNG file to write')
    .option('--split <split>', 'train, val or test', 'train')
    .option('--count <n>', 'number of samples', '32')
    .action(async (options: { config?: string; out: string; split: string; count: string }) => {
      if (!SPLIT_NAMES.includes(options.split as SplitName)) {
        throw new MtlzooError('USAGE', `--split: expected train, val or test, got "${options.split}"`, 2);
      }
      const count = Number(options.count);
      if (!Number.isInteger(count) || count < 1) {
        throw new MtlzooError('USAGE', `--count: expected a positive integer, got "${options.count}"`, 2);
      }
      const shown = await writePreview(await openDataset(cli, options.config), options.out, {
        split: options.split as SplitName,
        count,
      });
      cli.output.write(`${options.out}: ${shown.length} samples of the ${options.split} split\n`);
    });
}
