import type { Command } from 'commander';
import { retrieve } from '../../engine/retrieve.js';
import { MtlzooError } from '../../errors.js';
import { TRUST_PLUGINS_FLAG, type CliContext } from '../context.js';
import { formatTable } from '../output.js';

export function registerRetrieveCommand(program: Command, cli: CliContext): void {
  program
    .command('retrieve')
    .description('rank a folder of images by similarity to a query image under one task')
    .argument('<runDir>', 'a trained run directory')
    .requiredOption('--task <name>', 'the task (retrieval criterion) to search under')
    .requiredOption('--query <image>', 'query image file')
    .requiredOption('--gallery <dir>', 'folder of gallery images (searched recursively)')
    .option('--k <n>', 'how many results', '10')
    .option('--checkpoint <which>', 'best or last (default: best when the run validates, else last)')
    .option('--json', 'print JSON')
    .option(...TRUST_PLUGINS_FLAG)
    .action(
      async (
        runDir: string,
        options: {
          task: string;
          query: string;
          gallery: string;
          k: string;
          checkpoint?: string;
          json?: boolean;
          trustPlugins?: boolean;
        },
      ) => {
        const k = Number(options.k);
        if (!Number.isInteger(k) || k < 1)
          throw new MtlzooError('USAGE', `--k: expected a positive integer, got "${options.k}"`, 2);
        if (
          options.checkpoint !== undefined &&
          options.checkpoint !== 'best' &&
          options.checkpoint !== 'last'
        ) {
          throw new MtlzooError(
            'USAGE',
            `--checkpoint: expected best or last, got "${options.checkpoint}"`,
            2,
          );
        }
        const result = await retrieve(cli.createKernel({ trustRunPlugins: options.trustPlugins }), {
          runDir,
          task: options.task,
          query: options.query,
          gallery: options.gallery,
          k,
          checkpoint: options.checkpoint,
        });
        if (options.json) {
          cli.output.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        cli.logger.info(
          `gallery of ${result.gallerySize} images, index ${result.indexReused ? 'reused' : 'built'}: ${result.indexFile}`,
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
