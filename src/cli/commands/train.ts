import type { Command } from 'commander';
import { resumeRun, trainRun } from '../../engine/run.js';
import type { TrainSummary } from '../../engine/trainer.js';
import { MtlzooError } from '../../errors.js';
import { formatMetrics } from '../../report/metrics-table.js';
import type { CliContext } from '../context.js';
import { progressHook } from '../progress.js';

function printSummary(cli: CliContext, summary: TrainSummary, json: boolean | undefined): void {
  if (json) {
    cli.output.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  cli.output.write(
    `run ${summary.runDir}\n${summary.method} on ${summary.dataset} (${summary.backbone}), ${summary.steps} steps, backend ${summary.environment.backend}, ${summary.timing.msPerStep.toFixed(0)} ms/step\ntest metrics (checkpoint of step ${summary.testedStep}):\n${formatMetrics(summary.test, summary.tasks)}`,
  );
}

export function registerTrainCommand(program: Command, cli: CliContext): void {
  program
    .command('train')
    .description('train a config into a new run directory, or resume one')
    .option('-c, --config <file>', 'experiment config (default: search)')
    .option('--resume <runDir>', 'continue a run from its last checkpoint')
    .option('--out <dir>', 'parent folder for the run directory (default: output.dir of the config)')
    .option('--name <name>', 'run folder name (default: time-method-hash)')
    .option('--json', 'print the run summary as JSON')
    .action(
      async (options: { config?: string; resume?: string; out?: string; name?: string; json?: boolean }) => {
        if (options.resume && options.config) {
          throw new MtlzooError(
            'USAGE',
            '--resume uses the config saved in the run; do not pass --config with it',
            2,
          );
        }
        const kernel = cli.createKernel();
        const hooks = [progressHook(cli.logger)];
        const summary = options.resume
          ? await resumeRun(kernel, options.resume, hooks)
          : await trainRun(kernel, await kernel.loadConfig(options.config), {
              outputDir: options.out,
              name: options.name,
              hooks,
            });
        printSummary(cli, summary, options.json);
      },
    );
}
