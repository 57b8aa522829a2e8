/** `mtlzoo search`: the nearest gallery files of one or many query images under one or more tasks. */
import type { Command } from 'commander';
import { MtlzooError } from '../../errors.js';
import { IndexFolder } from '../../retrieval/index-folder.js';
import { searchImageFiles } from '../../retrieval/query.js';
import { SEARCH_MODES, type SearchMode } from '../../retrieval/search.js';
import { collect, oneOf, positiveInt } from '../arguments.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../../util/table.js';
import { modelOptions, openRunModel, type ModelFlags } from '../model-options.js';

/** The tasks asked for, or the index's only task; several tasks in the index need naming. */
export function chooseTasks(index: IndexFolder, asked: readonly string[] | undefined): string[] {
  if (asked && asked.length > 0) return [...asked];
  if (index.tasks.length === 1) return index.tasks;
  throw new MtlzooError('USAGE', `--task: the index holds ${index.tasks.join(', ')}; name one or more`, 2);
}

export function registerSearchCommand(program: Command, cli: CliContext): void {
  modelOptions(
    program
      .command('search')
      .description('rank an index’s gallery by similarity to query images under a task')
      .argument('<indexDir>', 'an index folder written by mtlzoo index build')
      .requiredOption('--query <image...>', 'query image files')
      .option('--task <name>', 'task to search under (repeatable; default: the index’s only task)', collect)
      .option('--k <n>', 'how many results per query', positiveInt('--k'), 10)
      .option(
        '--mode <mode>',
        'auto (HNSW when the index has a graph), exact or hnsw',
        oneOf('--mode', SEARCH_MODES),
        'auto',
      )
      .option('--run <dir>', "the run that embeds the queries (default: the index's own)")
      .option('--json', 'print JSON'),
    "the index's",
  ).action(
    async (
      indexDir: string,
      flags: {
        query: string[];
        task?: string[];
        k: number;
        mode: SearchMode;
        run?: string;
        json?: boolean;
      } & ModelFlags,
    ) => {
      const index = await IndexFolder.open(indexDir);
      try {
        const tasks = chooseTasks(index, flags.task);
        const model = await openRunModel(
          cli,
          flags.run ?? index.manifest.run.dir,
          flags,
          index.manifest.run.checkpoint,
        );
        try {
          const results = await searchImageFiles(index, model, flags.query, tasks, flags.k, flags.mode);
          if (flags.json) {
            cli.output.write(`${JSON.stringify({ index: index.dir, results }, null, 2)}\n`);
            return;
          }
          cli.output.write(
            results
              .map(
                (r) =>
                  `${r.query} under ${r.task} (${r.mode}):\n${formatTable(
                    ['RANK', 'DISTANCE', 'FILE'],
                    r.hits.map((h) => [String(h.rank), h.distance.toFixed(4), h.path]),
                  )}`,
              )
              .join('\n'),
          );
        } finally {
          model.dispose();
        }
      } finally {
        index.dispose();
      }
    },
  );
}
