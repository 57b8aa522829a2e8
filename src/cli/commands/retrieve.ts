/** `mtlzoo retrieve`: one query against a gallery folder, with an index the run keeps for it. */
import type { Command } from 'commander';
import { retrieve } from '../../retrieval/retrieve.js';
import { positiveInt } from '../arguments.js';
import type { CliContext } from '../context.js';
import { modelOptions, type ModelFlags } from '../model-options.js';
import { formatTable } from '../../util/table.js';

export function registerRetrieveCommand(program: Command, cli: CliContext): void {
  modelOptions(
    program
      .command('retrieve')
      .description(
        'rank a folder of images by similarity to a query image under one task (index kept in the run)',
      )
      .argument('<runDir>', 'a trained run directory')
      .requiredOption('--task <name>', 'the task (retrieval criterion) to search under')
      .requiredOption('--query <image>', 'query image file')
      .requiredOption('--gallery <dir>', 'folder of gallery images (searched recursively)')
      .option('--k <n>', 'how many results', positiveInt('--k'), 10)
      .option('--json', 'print JSON'),
  ).action(
    async (
      runDir: string,
      options: {
        task: string;
        query: string;
        gallery: string;
        k: number;
        json?: boolean;
      } & ModelFlags,
    ) => {
      const result = await retrieve(cli.createKernel({ trustRunPlugins: options.trustPlugins }), {
        runDir,
        task: options.task,
        query: options.query,
        gallery: options.gallery,
        k: options.k,
        ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
        ...(options.backend ? { backend: options.backend } : {}),
        log: cli.logger,
      });
      if (options.json) {
        cli.output.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      cli.logger.info(
        `gallery of ${result.gallerySize} images, index ${result.indexReused ? 'reused' : 'built'}: ${result.indexDir}`,
      );
      cli.output.write(
        formatTable(
          ['RANK', 'DISTANCE', 'FILE'],
          result.hits.map((h) => [String(h.rank), h.distance.toFixed(4), h.file]),
        ),
      );
    },
  );
}
