/** The `mtlzoo` command line. Errors are rendered once, here, with the exit code their kind carries. */
import { Command, CommanderError } from 'commander';
import { MtlzooError } from '../errors.js';
import { registerAnalyzeCommand } from './commands/analyze.js';
import { registerBackendCommand } from './commands/backend.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerDataCommand } from './commands/data.js';
import { registerParamsCommand } from './commands/params.js';
import { registerConfigCommand } from './commands/config.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExportCommand } from './commands/export.js';
import { registerPluginsCommand } from './commands/plugins.js';
import { registerReportCommand } from './commands/report.js';
import { registerIndexCommand } from './commands/gallery-index.js';
import { registerRetrieveCommand } from './commands/retrieve.js';
import { registerSearchCommand } from './commands/search.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTrainCommand } from './commands/train.js';
import { defaultCliContext, type CliContext } from './context.js';

const VERSION = '0.1.0';

export function buildProgram(cli: CliContext): Command {
  const program = new Command('mtlzoo')
    .description('model zoo for multi-task learning in image retrieval on TensorFlow.js')
    .version(VERSION)
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
    if (error instanceof MtlzooError) {
      cli.logger.info(`mtlzoo: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  }
}
