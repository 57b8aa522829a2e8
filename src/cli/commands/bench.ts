import path from 'node:path';
import type { Command } from 'commander';
import { resumeBench, runBench, type BenchResults } from '../../bench/bench.js';
import { loadRecipe, type LoadedRecipe } from '../../bench/recipe.js';
import { MtlzooError } from '../../errors.js';
import { formatBenchMarkdown } from '../../report/bench-table.js';
import {
  allDone,
  benchStatus,
  collectBench,
  collectInterim,
  INTERIM_FOLDER,
  enqueueBench,
  MAX_PRIORITY,
  findQueuedBench,
  type BenchStatus,
} from '../../queue/bench.js';
import { openQueue, parseQueueUrl, type RunQueue } from '../../queue/connection.js';
import { formatDuration } from '../../util/eta.js';
import { remainingWork, type RemainingWork } from '../../queue/remaining.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../../util/table.js';
import { progressHook } from '../progress.js';
import { withStopSignals } from '../signals.js';
import { positiveInt, seedList } from '../arguments.js';

interface PlanCliOptions {
  seeds?: number[];
  methods?: string;
  steps?: number;
}

interface BenchCliOptions extends PlanCliOptions {
  out?: string;
  resume?: string;
  record?: boolean;
  json?: boolean;
  queue?: string;
  runs: string;
  priority?: number;
}

interface StatusCliOptions extends PlanCliOptions {
  queue?: string;
  runs: string;
  follow?: boolean;
  json?: boolean;
}

/** The options that choose a bench's runs; `bench status RECIPE` needs them as the bench was enqueued. */
function planOptions(command: Command): Command {
  return command
    .option('--seeds <list>', 'comma-separated seeds instead of the recipe’s', seedList)
    .option('--methods <labels>', 'comma-separated method labels to run (default: all)')
    .option('--steps <n>', 'override train.steps (quick checks)', positiveInt('--steps'));
}

function methodLabels(entry: LoadedRecipe, methods: string | undefined): string[] | undefined {
  const labels = methods?.split(',').map((s) => s.trim());
  const known = entry.recipe.methods.map((m) => m.label);
  const unknown = labels?.filter((l) => !known.includes(l)) ?? [];
  if (unknown.length > 0) {
    throw new MtlzooError(
      'USAGE',
      `--methods: unknown label(s) ${unknown.join(', ')}; the recipe has ${known.join(', ')}`,
      2,
    );
  }
  return labels;
}

async function withQueue<T>(url: string, work: (queue: RunQueue) => Promise<T>): Promise<T> {
  const address = parseQueueUrl(url);
  const queue = await openQueue(address);
  try {
    return await work(queue);
  } finally {
    await queue.close();
  }
}

function formatStatus(status: BenchStatus): string {
  const rows = status.jobs.map((job) => {
    const p = job.progress;
    const progress =
      job.state === 'completed'
        ? `${job.result?.steps ?? ''}/${job.result?.steps ?? ''}`
        : p
          ? `${p.step}/${p.steps}`
          : '';
    const detail =
      job.state === 'failed'
        ? (job.failedReason ?? '')
        : job.state === 'active' && p
          ? `loss ${p.loss?.toFixed(4) ?? '?'}  ETA ${formatDuration(p.etaMs ?? Number.NaN)}${p.startStep > 0 ? `  resumed at ${p.startStep}` : ''}`
          : job.state === 'completed'
            ? `tested at step ${job.result?.testedStep ?? '?'}`
            : '';
    const host =
      job.state === 'completed'
        ? (job.result?.host ?? '')
        : p && job.state === 'active'
          ? `${p.host}:${p.pid}`
          : '';
    return [job.label, String(job.seed), job.state, progress, String(job.attemptsMade), host, detail];
  });
  const counts = new Map<string, number>();
  for (const job of status.jobs) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
  const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  return `${status.dir}: ${status.jobs.length} runs (${summary})\n${formatTable(
    ['run', 'seed', 'state', 'step', 'attempts', 'worker', 'detail'],
    rows,
  )}${formatRemaining(remainingWork(status.jobs))}`;
}

/** The line under the table: steps to go, and the worker time of those whose row has a measured rate. */
function formatRemaining(left: RemainingWork): string {
  if (left.runs === 0) return '';
  const timed =
    left.timedRuns === 0
      ? 'no row measured yet'
      : `${left.timedRuns === left.runs ? 'all' : `${left.timedRuns} of them`} about ${formatDuration(left.timedMs)} ` +
        "of one worker's training at their rows' measured ms/step";
  const unmeasured =
    left.unmeasured.length > 0 && left.timedRuns > 0
      ? `; not measured yet: ${left.unmeasured.join(', ')}`
      : '';
  return `left: ${left.runs} runs, ${left.steps.toLocaleString('en-US')} training steps; ${timed}${unmeasured}\n`;
}

/** Whether nothing more can happen without someone acting: every job done or failed for good. */
function settled(status: BenchStatus): boolean {
  return status.jobs.every(
    (job) => job.state === 'completed' || job.state === 'failed' || job.state === 'unknown',
  );
}

export function registerBenchCommand(program: Command, cli: CliContext): void {
  const bench = planOptions(
    program
      .command('bench')
      .description(
        'run every method of a zoo entry under identical settings and compare them; with --queue, enqueue the runs for workers',
      )
      .argument('[entry]', 'a zoo entry folder (e.g. zoo/quickstart) or a recipe file')
      .option('--out <dir>', 'folder for the runs and results (default: runs/bench/<entry>-<time>)')
      .option(
        '--resume <dir>',
        'continue an interrupted bench in its folder, with the options it was started with',
      ),
  )
    .option('--record', 'also write results.json and results.md into the zoo entry')
    .option('--json', 'print the results as JSON')
    .option('--queue <url>', 'enqueue the runs on redis://HOST:PORT[/DB] for mtlzoo worker, and return')
    .option('--runs <dir>', 'with --queue: the run store every worker reaches', 'runs')
    .option(
      '--priority <n>',
      `with --queue: the runs' priority, 1 (first) to ${MAX_PRIORITY}, given to its runs still waiting too; runs enqueued without one are taken first`,
      positiveInt('--priority', MAX_PRIORITY),
    )
    .action(async (entryPath: string | undefined, options: BenchCliOptions) => {
      if (options.queue !== undefined) {
        if (options.resume !== undefined)
          throw new MtlzooError(
            'USAGE',
            '--resume continues a local bench; a queued bench needs no resume: enqueue it again',
            2,
          );
        if (entryPath === undefined) throw new MtlzooError('USAGE', 'bench --queue: give a zoo entry', 2);
        const entry = await loadRecipe(entryPath);
        const summary = await withQueue(options.queue, (queue) =>
          enqueueBench(cli.createKernel(), queue, parseQueueUrl(options.queue!), entry, {
            store: options.runs,
            outputDir: options.out,
            seeds: options.seeds,
            methods: methodLabels(entry, options.methods),
            steps: options.steps,
            record: options.record,
            ...(options.priority !== undefined ? { priority: options.priority } : {}),
            log: cli.logger,
          }),
        );
        const present = Object.entries(summary.present).map(([state, n]) => `${n} ${state}`);
        cli.output.write(
          options.json
            ? `${JSON.stringify(summary, null, 2)}\n`
            : `${summary.jobs.length} runs: ${summary.added} enqueued${summary.retried ? `, ${summary.retried} failed ones retried` : ''}${summary.reprioritised ? `, ${summary.reprioritised} waiting ones given priority ${options.priority}` : ''}${present.length ? `, already in the queue: ${present.join(', ')}` : ''}\nbench: ${summary.dir}\nwatch it with: mtlzoo bench status ${summary.dir} --queue ${options.queue}\n`,
        );
        return;
      }
      const common = {
        log: cli.logger,
        hooksFor: (_label: string, _seed: number, steps: number) => [
          progressHook(cli.logger, Math.max(1, Math.round(steps / 4))),
        ],
      };
      let outputDir: string;
      let results: BenchResults;
      if (options.resume !== undefined) {
        const extra = [
          entryPath && 'an entry',
          ...(['out', 'seeds', 'methods', 'steps', 'record'] as const)
            .filter((k) => options[k] !== undefined)
            .map((k) => `--${k}`),
        ].filter(Boolean);
        if (extra.length > 0) {
          throw new MtlzooError(
            'USAGE',
            `--resume continues a bench with the options it was started with; do not pass ${extra.join(', ')} with it`,
            2,
          );
        }
        outputDir = path.resolve(options.resume);
        results = await withStopSignals(cli.logger, (signal) =>
          resumeBench(cli.createKernel(), outputDir, { ...common, signal }),
        );
      } else {
        if (entryPath === undefined)
          throw new MtlzooError('USAGE', 'bench: give a zoo entry, or --resume DIR', 2);
        const entry = await loadRecipe(entryPath);
        const labels = methodLabels(entry, options.methods);
        if (entry.recipe.requires) cli.logger.info(`${entry.name} requires: ${entry.recipe.requires}`);
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
        outputDir = path.resolve(options.out ?? path.join('runs', 'bench', `${entry.name}-${stamp}`));
        results = await withStopSignals(cli.logger, (signal) =>
          runBench(cli.createKernel(), entry, {
            ...common,
            outputDir,
            seeds: options.seeds,
            methods: labels,
            steps: options.steps,
            record: options.record,
            signal,
          }),
        );
      }
      cli.output.write(
        options.json
          ? `${JSON.stringify(results, null, 2)}\n`
          : `${formatBenchMarkdown(results)}\nresults: ${outputDir}\n`,
      );
    });

  // `bench` parses the options it shares with its subcommands wherever they stand on the line (so `--debug`
  // may follow any command); the subcommands declare them for their help and read them merged.
  const queued = async (target: string, command: Command) => {
    const options = command.optsWithGlobals<StatusCliOptions>();
    if (options.queue === undefined)
      throw new MtlzooError('USAGE', `bench ${command.name()}: --queue URL is required`, 2);
    const dir = await findQueuedBench(target, options.runs, {
      seeds: options.seeds,
      steps: options.steps,
      ...(options.methods ? { methods: options.methods.split(',').map((s) => s.trim()) } : {}),
    });
    return { dir, options: { ...options, queue: options.queue } };
  };
  const queuedOptions = (command: Command) =>
    planOptions(
      command
        .argument(
          '<bench>',
          'a queued bench folder, or the recipe it was enqueued from (with the same options)',
        )
        .option('--queue <url>', 'the queue: redis://HOST:PORT[/DB] (required)')
        .option('--runs <dir>', 'with a recipe: the run store it was enqueued into (default: "runs")'),
    ).option('--json', 'print as JSON');

  queuedOptions(
    bench
      .command('status')
      .description(
        "a queued bench's runs: waiting, active (step, loss, ETA), done, failed (why); collects once all are done",
      ),
  )
    .option(
      '--follow',
      'keep the table live until every run is done or failed (with --json: a JSON line every 2 s)',
    )
    .action(async (target: string, _options: unknown, command: Command) => {
      const { dir, options } = await queued(target, command);
      await withQueue(options.queue, async (queue) => {
        for (;;) {
          const status = await benchStatus(queue, dir);
          if (allDone(status)) {
            const results = await collectBench(status, cli.logger);
            cli.output.write(
              options.json
                ? `${JSON.stringify({ status, results }, null, 2)}\n`
                : `${formatStatus(status)}\nevery run is done: results written to ${dir}\n\n${formatBenchMarkdown(results)}`,
            );
            return;
          }
          if (!options.follow || settled(status)) {
            cli.output.write(
              options.json
                ? `${JSON.stringify({ status, remaining: remainingWork(status.jobs) }, null, 2)}\n`
                : formatStatus(status),
            );
            return;
          }
          // Live: the table redrawn on a terminal, one JSON line per look with --json.
          cli.output.write(
            options.json
              ? `${JSON.stringify({ status, remaining: remainingWork(status.jobs) })}\n`
              : `${process.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${formatStatus(status)}\n`,
          );
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      });
    });

  queuedOptions(
    bench
      .command('collect')
      .description('write results.json and results.md of a queued bench whose runs are all done'),
  )
    .option(
      '--interim',
      `before then: the rows whose every run is done, into <bench>/${INTERIM_FOLDER}/ (the table names the rows still pending)`,
    )
    .action(async (target: string, _options: unknown, command: Command) => {
      const { dir, options } = await queued(target, command);
      const interim = command.opts<{ interim?: boolean }>().interim === true;
      const results = await withQueue(options.queue, async (queue) => {
        const status = await benchStatus(queue, dir);
        return interim ? collectInterim(status, cli.logger) : collectBench(status, cli.logger);
      });
      cli.output.write(
        options.json
          ? `${JSON.stringify(results, null, 2)}\n`
          : `${formatBenchMarkdown(results)}\nresults: ${interim ? path.join(dir, INTERIM_FOLDER) : dir}\n`,
      );
    });
}
