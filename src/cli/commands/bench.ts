import path from 'node:path';
import type { Command } from 'commander';
import { runBench } from '../../bench/bench.js';
import { loadRecipe } from '../../bench/recipe.js';
import { MtlzooError } from '../../errors.js';
import { formatBenchMarkdown } from '../../report/bench-table.js';
import { positiveInt } from '../arguments.js';
import type { CliContext } from '../context.js';
import { progressHook } from '../progress.js';

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

export function registerBenchCommand(program: Command, cli: CliContext): void {
  program
    .command('bench')
    .description('run every method of a zoo entry under identical settings and compare them')
    .argument('<entry>', 'a zoo entry folder (e.g. zoo/quickstart) or a recipe file')
    .option('--out <dir>', 'folder for the runs and results (default: runs/bench/<entry>-<time>)')
    .option('--seeds <list>', 'comma-separated seeds instead of the recipe’s', seedList)
    .option('--methods <labels>', 'comma-separated method labels to run (default: all)')
    .option('--steps <n>', 'override train.steps (quick checks)', positiveInt('--steps'))
    .option('--record', 'also write results.json and results.md into the zoo entry')
    .option('--json', 'print the results as JSON')
    .action(
      async (
        entryPath: string,
        options: {
          out?: string;
          seeds?: number[];
          methods?: string;
          steps?: number;
          record?: boolean;
          json?: boolean;
        },
      ) => {
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
        const outputDir = path.resolve(options.out ?? path.join('runs', 'bench', `${entry.name}-${stamp}`));
        const results = await runBench(cli.createKernel(), entry, {
          outputDir,
          seeds: options.seeds,
          methods: labels,
          steps: options.steps,
          record: options.record,
          log: cli.logger,
          hooksFor: (_label, _seed, steps) => [progressHook(cli.logger, Math.max(1, Math.round(steps / 4)))],
        });
        cli.output.write(
          options.json
            ? `${JSON.stringify(results, null, 2)}\n`
            : `${formatBenchMarkdown(results)}\nresults: ${outputDir}\n`,
        );
      },
    );
}
