import type { Command } from 'commander';
import { resumeRun, trainRun } from '../../engine/run.js';
import type { TrainSummary } from '../../engine/trainer.js';
import { MtlzooError } from '../../errors.js';
import { formatMetrics } from '../../report/metrics-table.js';
import { TRUST_PLUGINS_FLAG, type CliContext } from '../context.js';
import { progressHook } from '../progress.js';
import { withStopSignals } from '../signals.js';

function printSummary(cli: CliContext, summary: TrainSummary, json: boolean | undefined): void {
  if (json) {
    cli.output.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  // A summary read back from JSON has null where no step was timed.
  const msPerStep = summary.timing.msPerStep;
  const timing =
    typeof msPerStep === 'number' && Number.isFinite(msPerStep)
      ? `${msPerStep.toFixed(0)} ms/step`
      : 'no step timed';
  cli.output.write(
    `run ${summary.runDir}\n${summary.method} on ${summary.dataset} (${summary.backbone}), ${summary.steps} steps, backend ${summary.environment.backend}, ${timing}\ntest metrics (checkpoint of step ${summary.testedStep}):\n${formatMetrics(summary.test, summary.tasks)}`,
  );
}

interface TrainOptions {
  config?: string;
  resume?: string;
  out?: string;
  name?: string;
  json?: boolean;
  trustPlugins?: boolean;
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
    .option(...TRUST_PLUGINS_FLAG)
    .action(async (options: TrainOptions) => {
      if (options.resume && (options.config || options.out || options.name !== undefined)) {
        throw new MtlzooError(
          'USAGE',
          '--resume uses the config and folder of the run; do not pass --config, --out or --name with it',
          2,
        );
      }
      const kernel = cli.createKernel({ trustRunPlugins: options.trustPlugins });
      const hooks = [progressHook(cli.logger)];
      const summary = await withStopSignals(cli.logger, async (signal) =>
        options.resume
          ? resumeRun(kernel, options.resume, { hooks, signal })
          : trainRun(kernel, await kernel.loadConfig(options.config), {
              outputDir: options.out,
              name: options.name,
              hooks,
              signal,
            }),
      );
      printSummary(cli, summary, options.json);
    });
}
