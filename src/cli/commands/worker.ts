import type { Command } from 'commander';
import { parseQueueUrl } from '../../queue/connection.js';
import { runQueueWorker } from '../../queue/worker.js';
import type { CliContext } from '../context.js';
import { withStopSignals } from '../signals.js';
import { positiveInt } from '../arguments.js';

interface WorkerCliOptions {
  queue: string;
  runs: string;
  concurrency: number;
  lockSeconds: number;
  leaseSeconds: number;
}

export function registerWorkerCommand(program: Command, cli: CliContext): void {
  program
    .command('worker')
    .description('train the runs of queued benches (mtlzoo bench RECIPE --queue URL) until stopped')
    .requiredOption('--queue <url>', 'the queue: redis://HOST:PORT[/DB]')
    .option('--runs <dir>', 'the run store as this machine reaches it (shared by every worker)', 'runs')
    .option('--concurrency <n>', 'runs this process trains at the same time', positiveInt('--concurrency'), 1)
    .option(
      '--lock-seconds <n>',
      "a job's lock in Redis: a worker that dies mid-job has its job taken back after about this",
      positiveInt('--lock-seconds'),
      30,
    )
    .option(
      '--lease-seconds <n>',
      "a run folder's lock lease: another host takes over a folder whose writer stopped renewing it this long ago",
      positiveInt('--lease-seconds'),
      120,
    )
    .action(async (options: WorkerCliOptions) => {
      const address = parseQueueUrl(options.queue);
      await withStopSignals(cli.logger, (signal) =>
        runQueueWorker({
          address,
          store: options.runs,
          concurrency: options.concurrency,
          lockMs: options.lockSeconds * 1000,
          leaseMs: options.leaseSeconds * 1000,
          log: cli.logger,
          createKernel: () => cli.createKernel(),
          signal,
        }),
      );
      cli.logger.info('worker stopped; its unfinished jobs are back in the queue');
    });
}
