import type { Command } from 'commander';
import { evaluateRun } from '../../engine/run.js';
import { MtlzooError } from '../../errors.js';
import { formatMetrics } from '../../report/metrics-table.js';
import { TRUST_PLUGINS_FLAG, type CliContext } from '../context.js';

const SPLITS = ['val', 'test'] as const;
const CHECKPOINTS = ['auto', 'best', 'last'] as const;

export function registerEvalCommand(program: Command, cli: CliContext): void {
  program
    .command('eval')
    .description("evaluate a run's checkpoint with the run's evaluators")
    .argument('<runDir>', 'a run directory written by mtlzoo train')
    .option('--split <split>', 'val or test', 'test')
    .option(
      '--checkpoint <which>',
      'auto (the one the run was tested with: best when it validates, else last), best or last',
      'auto',
    )
    .option('--json', 'print JSON')
    .option(...TRUST_PLUGINS_FLAG)
    .action(
      async (
        runDir: string,
        options: { split: string; checkpoint: string; json?: boolean; trustPlugins?: boolean },
      ) => {
        if (!SPLITS.includes(options.split as (typeof SPLITS)[number])) {
          throw new MtlzooError('USAGE', `--split: expected val or test, got "${options.split}"`, 2);
        }
        if (!CHECKPOINTS.includes(options.checkpoint as (typeof CHECKPOINTS)[number])) {
          throw new MtlzooError(
            'USAGE',
            `--checkpoint: expected auto, best or last, got "${options.checkpoint}"`,
            2,
          );
        }
        const kernel = cli.createKernel({ trustRunPlugins: options.trustPlugins });
        const result = await evaluateRun(
          kernel,
          runDir,
          options.split as (typeof SPLITS)[number],
          options.checkpoint as (typeof CHECKPOINTS)[number],
        );
        if (options.json) {
          cli.output.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        const tasks = [
          ...new Set(result.metrics.map((m) => m.task).filter((t): t is string => t !== undefined)),
        ];
        cli.output.write(
          `${result.checkpoint} (step ${result.step}), ${result.split} split:\n${formatMetrics(result.metrics, tasks)}`,
        );
      },
    );
}
