import path from 'node:path';
import type { Command } from 'commander';
import { resumeBench, runBench, type BenchResults } from '../../bench/bench.js';
import { loadRecipe } from '../../bench/recipe.js';
import { MtlzooError } from '../../errors.js';
import { formatBenchMarkdown } from '../../report/bench-table.js';
import type { CliContext } from '../context.js';
import { progressHook } from '../progress.js';
import { withStopSignals } from '../signals.js';

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new MtlzooError('USAGE', `${flag}: expected a positive integer, got "${value}"`, 2);
    return n;
  };
}

function seedList(value: string): number[] {
  const seeds = value.split(',').map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new MtlzooError(
      'USAGE',
      `--seeds: expected comma-separated non-negative integers, got "${value}"`,
      2,
    );
  }
  return seeds;
}

interface BenchCliOptions {
  out?: string;
  resume?: string;
  seeds?: number[];
  methods?: string;
  steps?: number;
  record?: boolean;
  json?: boolean;
}

export function registerBenchCommand(program: Command, cli: CliContext): void {
  program
    .command('bench')
    .description('run every method of a zoo entry under identical settings and compare them')
    .argument('[entry]', 'a zoo entry folder (e.g. zoo/quickstart) or a recipe file')
    .option('--out <dir>', 'folder for the runs and results (default: runs/bench/<entry>-<time>)')
    .option(
      '--resume <dir>',
      'continue an interrupted bench in its folder, with the options it was started with',
    )
    .option('--seeds <list>', 'comma-separated seeds instead of the recipe’s', seedList)
    .option('--methods <labels>', 'comma-separated method labels to run (default: all)')
    .option('--steps <n>', 'override train.steps (quick checks)', positiveInt('--steps'))
    .option('--record', 'also write results.json and results.md into the zoo entry')
    .option('--json', 'print the results as JSON')
    .action(async (entryPath: string | undefined, options: BenchCliOptions) => {
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
        const labels = options.methods?.split(',').map((s) => s.trim());
        const known = entry.recipe.methods.map((m) => m.label);
        const unknown = labels?.filter((l) => !known.includes(l)) ?? [];
        if (unknown.length > 0) {
          throw new MtlzooError(
            'USAGE',
            `--methods: unknown label(s) ${unknown.join(', ')}; the recipe has ${known.join(', ')}`,
            2,
          );
        }
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
}
