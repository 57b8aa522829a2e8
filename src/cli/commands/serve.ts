/** `mtlzoo serve`: the retrieval server and web page over an index (or a run and a gallery folder). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { MtlzooError } from '../../errors.js';
import { IndexFolder } from '../../retrieval/index-folder.js';
import { MANIFEST_FILE } from '../../retrieval/manifest.js';
import { openRunIndex } from '../../retrieval/retrieve.js';
import { DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_UPLOAD_BYTES, startServer } from '../../retrieval/server.js';
import { positiveInt } from '../arguments.js';
import type { CliContext } from '../context.js';
import { modelOptions, openRunModel, type ModelFlags } from '../model-options.js';

interface ServeFlags extends ModelFlags {
  gallery?: string;
  run?: string;
  host: string;
  port: number;
  maxUploadMb?: number;
  maxImagePixels?: number;
}

/** Opens what `serve` was given: an index folder (checked strictly) or a run with --gallery. */
async function open(cli: CliContext, target: string, flags: ServeFlags) {
  const isIndex = await fs.stat(path.join(target, MANIFEST_FILE)).then(
    () => true,
    () => false,
  );
  if (isIndex) {
    const index = await IndexFolder.open(target);
    const model = await openRunModel(
      cli,
      flags.run ?? index.manifest.run.dir,
      flags,
      index.manifest.run.checkpoint,
    ).catch((error: unknown) => {
      index.dispose();
      throw error;
    });
    return { index, model };
  }
  if (!flags.gallery) {
    throw new MtlzooError(
      'USAGE',
      `${target} is not an index folder; to serve a run, name its gallery with --gallery`,
      2,
    );
  }
  const model = await openRunModel(cli, target, flags);
  try {
    const { index } = await openRunIndex(model, flags.gallery, model.identity.tasks, { log: cli.logger });
    return { index, model };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

export function registerServeCommand(program: Command, cli: CliContext): void {
  modelOptions(
    program
      .command('serve')
      .description('serve search over HTTP with a web page at / (until interrupted)')
      .argument('<target>', 'an index folder, or a run directory together with --gallery')
      .option('--gallery <dir>', 'gallery folder, when serving a run (its index is kept in the run)')
      .option('--run <dir>', "the run that embeds queries (default: the index's own)")
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <n>', 'port (0: any free one)', (v) => (v === '0' ? 0 : positiveInt('--port')(v)), 8080)
      .option(
        '--max-upload-mb <n>',
        `largest image upload in MiB (default ${DEFAULT_MAX_UPLOAD_BYTES / 2 ** 20})`,
        positiveInt('--max-upload-mb'),
      )
      .option(
        '--max-image-pixels <n>',
        `largest image in pixels (default ${DEFAULT_MAX_IMAGE_PIXELS})`,
        positiveInt('--max-image-pixels'),
      ),
    "the index's; for a run, best when it validates, else last",
  ).action(async (target: string, flags: ServeFlags) => {
    const { index, model } = await open(cli, target, flags);
    const { app, url } = await startServer({
      index,
      model,
      log: cli.logger,
      host: flags.host,
      port: flags.port,
      ...(flags.maxUploadMb ? { maxUploadBytes: flags.maxUploadMb * 2 ** 20 } : {}),
      ...(flags.maxImagePixels ? { maxImagePixels: flags.maxImagePixels } : {}),
    });
    cli.logger.info(
      `serving ${index.dir} (${index.files.length} images; tasks ${index.tasks.join(', ')}; ${model.backend.name} backend) at ${url}`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    cli.logger.info('stopping the server');
    await app.close();
    index.dispose();
    model.dispose();
  });
}
