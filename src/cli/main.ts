/** The `mtlzoo` command line. Errors are rendered once, here, with the exit code their kind carries. */
import { Command, CommanderError } from 'commander';
import { isMtlzooError } from '../errors.js';
import { registerAnalyzeCommand } from './commands/analyze.js';
import { registerBackendCommand } from './commands/backend.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerDataCommand } from './commands/data.js';
import { registerParamsCommand } from './commands/params.js';
import { registerConfigCommand } from './commands/config.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExportCommand } from './commands/export.js';
import { registerNewCommand } from './commands/new.js';
import { registerPluginsCommand } from './commands/plugins.js';
import { registerReportCommand } from './commands/report.js';
import { registerIndexCommand } from './commands/gallery-index.js';
import { registerRetrieveCommand } from './commands/retrieve.js';
import { registerSearchCommand } from './commands/search.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTrainCommand } from './commands/train.js';
import { registerWorkerCommand } from './commands/worker.js';
import { MTLZOO_VERSION } from '../util/package.js';
import { defaultCliContext, type CliContext } from './context.js';

export function buildProgram(cli: CliContext): Command {
  const program = new Command('mtlzoo')
    .description('model zoo for multi-task learning in image retrieval on TensorFlow.js')
    .version(MTLZOO_VERSION)
    .option('--debug', 'on an error, also print its stack trace (and those of its causes)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => cli.logger.info(text.trimEnd()) });
  registerPluginsCommand(program, cli);
  registerConfigCommand(program, cli);
  registerBackendCommand(program, cli);
  registerTrainCommand(program, cli);
  registerEvalCommand(program, cli);
  registerAnalyzeCommand(program, cli);
  registerReportCommand(program, cli);
  registerBenchCommand(program, cli);
  registerParamsCommand(program, cli);
  registerDataCommand(program, cli);
  registerIndexCommand(program, cli);
  registerSearchCommand(program, cli);
  registerServeCommand(program, cli);
  registerExportCommand(program, cli);
  registerRetrieveCommand(program, cli);
  registerWorkerCommand(program, cli);
  registerNewCommand(program, cli);
  return program;
}

/** Runs the CLI; returns the process exit code (0 ok, 1 failure, 2 bad usage or invalid config). */
export async function main(argv: readonly string[], cli: CliContext = defaultCliContext()): Promise<number> {
  const program = buildProgram(cli);
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successful exits; commander already printed its message.
      return error.exitCode === 0 ? 0 : 2;
    }
    const debug = program.opts<{ debug?: boolean }>().debug === true;
    if (isMtlzooError(error)) {
      cli.logger.info(`mtlzoo: ${error.message}`);
      if (debug) cli.logger.info(stackTrace(error));
      return error.exitCode;
    }
    // Not an error mtlzoo worded for a user: a bug here or in a plugin. One line still, and the stack on
    // request (a plugin's minified source can make Node's own report of it tens of kilobytes long).
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    cli.logger.info(
      `mtlzoo: unexpected error: ${message}${debug ? '' : ' (run with --debug for the stack trace)'}`,
    );
    if (debug) cli.logger.info(stackTrace(error));
    return 1;
  }
}

/** The stack of `error` and of each error in its `cause` chain. */
function stackTrace(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 10; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
  }
  return parts.join('\ncaused by: ');
}
