import type { Command } from 'commander';
import { formatAttention, writeAttentionMaps } from '../../analysis/attention.js';
import { probeCheckpoint, probeRecordsOf } from '../../analysis/probe.js';
import { runRelatedness } from '../../analysis/relatedness.js';
import type { CheckpointChoice } from '../../analysis/run-checkpoint.js';
import { formatGradientSummary, formatRelatedness, summariseGradients } from '../../analysis/summary.js';
import { compareRows } from '../../bench/compare.js';
import { loadSweep } from '../../bench/sweep.js';
import { RunDir } from '../../engine/run-dir.js';
import { formatComparison } from '../../report/compare-table.js';
import { formatSweepMarkdown } from '../../report/sweep-table.js';
import { MtlzooError } from '../../errors.js';
import { positiveInt } from '../arguments.js';
import { TRUST_PLUGINS_FLAG, type CliContext } from '../context.js';

function checkpointChoice(allowed: readonly CheckpointChoice[]) {
  return (value: string): CheckpointChoice => {
    if (!allowed.includes(value as CheckpointChoice)) {
      throw new MtlzooError('USAGE', `--checkpoint: expected ${allowed.join(' or ')}, got "${value}"`, 2);
    }
    return value as CheckpointChoice;
  };
}

function stepList(value: string): number[] {
  const steps = value.split(',').map((s) => Number(s.trim()));
  if (steps.some((s) => !Number.isInteger(s) || s <= 0)) {
    throw new MtlzooError('USAGE', `--steps: expected comma-separated positive integers, got "${value}"`, 2);
  }
  return steps;
}

function splitChoice(value: string): 'val' | 'test' {
  if (value !== 'val' && value !== 'test') {
    throw new MtlzooError('USAGE', `--split: expected val or test, got "${value}"`, 2);
  }
  return value;
}

/** JSON.stringify writes NaN (a task with a zero gradient) as null, which reads as "undefined". */
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export function registerAnalyzeCommand(program: Command, cli: CliContext): void {
  const analyze = program
    .command('analyze')
    .description(
      'analyses of trained runs: gradient directions across tasks, learned task relatedness, attention maps, benches across a knob',
    );

  analyze
    .command('gradients')
    .description(
      'summarise the gradient probe: task × task cosines and the mean across-task angle per shared layer over training',
    )
    .argument('<runDir>', 'a run directory written by mtlzoo train')
    .option(
      '--checkpoint <which>',
      'probe this checkpoint now (best or last) instead of reading the log',
      checkpointChoice(['best', 'last']),
    )
    .option(
      '--triplets <n>',
      "with --checkpoint: probe triplets per task (default: the run's train.probe.tripletsPerTask)",
      positiveInt('--triplets'),
    )
    .option(
      '--steps <list>',
      'comma-separated probed steps to show cosine matrices for (default: first and last)',
      stepList,
    )
    .option('--json', 'print JSON')
    .option(...TRUST_PLUGINS_FLAG)
    .action(
      async (
        runDir: string,
        options: {
          checkpoint?: 'best' | 'last';
          triplets?: number;
          steps?: number[];
          json?: boolean;
          trustPlugins?: boolean;
        },
      ) => {
        if (options.triplets !== undefined && !options.checkpoint) {
          throw new MtlzooError(
            'USAGE',
            '--triplets sets the size of a probe made now: use it with --checkpoint best|last',
            2,
          );
        }
        const run = await RunDir.open(runDir);
        const kernel = cli.createKernel({ trustRunPlugins: options.trustPlugins });
        const records = options.checkpoint
          ? [
              await probeCheckpoint(
                kernel,
                run.dir,
                options.checkpoint,
                options.triplets ? { tripletsPerTask: options.triplets } : {},
              ),
            ]
          : probeRecordsOf(await run.readMetrics());
        if (records.length === 0) {
          throw new MtlzooError(
            'USAGE',
            `${run.path('metrics')} has no probe records: train with train.probe.every > 0, or probe a checkpoint now with --checkpoint last`,
            2,
          );
        }
        let summary;
        try {
          summary = summariseGradients(
            run.dir,
            options.checkpoint ? 'checkpoint' : 'log',
            records,
            options.steps,
          );
        } catch (error) {
          if (error instanceof RangeError) throw new MtlzooError('USAGE', `--steps: ${error.message}`, 2);
          throw error;
        }
        cli.output.write(options.json ? json(summary) : formatGradientSummary(summary));
      },
    );

  analyze
    .command('attention')
    .description(
      "draw where each task looks (a method's spatial attention, e.g. asen's) over a few images, as PNGs and JSON",
    )
    .argument('<runDir>', 'a run directory written by mtlzoo train')
    .requiredOption('--out <dir>', 'folder for attention.json, attention.png and the per-task PNGs')
    .option('--images <n>', 'images shown, evenly spaced over the split', positiveInt('--images'), 6)
    .option('--split <name>', 'val or test', splitChoice, 'test')
    .option(
      '--checkpoint <which>',
      'auto (best, else last), best or last',
      checkpointChoice(['auto', 'best', 'last']),
      'auto',
    )
    .option('--json', 'print the manifest as JSON')
    .option(...TRUST_PLUGINS_FLAG)
    .action(
      async (
        runDir: string,
        options: {
          out: string;
          images: number;
          split: 'val' | 'test';
          checkpoint: CheckpointChoice;
          json?: boolean;
          trustPlugins?: boolean;
        },
      ) => {
        const kernel = cli.createKernel({ trustRunPlugins: options.trustPlugins });
        const result = await writeAttentionMaps(kernel, runDir, {
          outDir: options.out,
          images: options.images,
          split: options.split,
          checkpoint: options.checkpoint,
        });
        cli.output.write(options.json ? json(result) : formatAttention(result, options.out));
      },
    );

  analyze
    .command('relatedness')
    .description(
      "task × task similarity of each stage's learned task-specific variables (e.g. modulation vectors)",
    )
    .argument('<runDir>', 'a run directory written by mtlzoo train')
    .option(
      '--checkpoint <which>',
      'auto (the one the run was tested with), best or last',
      checkpointChoice(['auto', 'best', 'last']),
      'auto',
    )
    .option('--json', 'print JSON')
    .option(...TRUST_PLUGINS_FLAG)
    .action(
      async (
        runDir: string,
        options: { checkpoint: CheckpointChoice; json?: boolean; trustPlugins?: boolean },
      ) => {
        const result = await runRelatedness(
          cli.createKernel({ trustRunPlugins: options.trustPlugins }),
          runDir,
          options.checkpoint,
        );
        cli.output.write(options.json ? json(result) : formatRelatedness(result));
      },
    );

  analyze
    .command('compare')
    .description(
      'two rows of a finished bench paired by seed and test query: the difference of each metric, Δm of one against the other and of their gradient angles, with intervals',
    )
    .argument('<benchDir>', 'a bench folder or zoo entry holding results.json, its runs reachable')
    .argument('<row>', 'the row compared (a label of results.json)')
    .argument('<against>', 'the row it is compared against (the reference of Δm)')
    .option('--json', 'print JSON')
    .action(async (benchDir: string, row: string, against: string, options: { json?: boolean }) => {
      const comparison = await compareRows(benchDir, row, against);
      cli.output.write(options.json ? json(comparison) : formatComparison(comparison));
    });

  analyze
    .command('sweep')
    .description(
      'follow every method of several benches across one config value (e.g. the relatedness knob): Δm, accuracy and gradient angles per level, with intervals',
    )
    .argument('<benchDirs...>', 'zoo entries or bench folders holding results.json, one per level, in order')
    .requiredOption(
      '--knob <path>',
      'the dotted config path that differs between them (e.g. dataset.options.relatedness)',
    )
    .option('--json', 'print JSON')
    .action(async (dirs: string[], options: { knob: string; json?: boolean }) => {
      const levels = await loadSweep(cli.createKernel(), dirs, options.knob);
      cli.output.write(
        options.json
          ? json(
              levels.map((l) => ({
                dir: l.dir,
                value: l.value,
                entry: l.results.entry,
                rows: l.results.rows,
              })),
            )
          : formatSweepMarkdown(options.knob, levels),
      );
    });
}
