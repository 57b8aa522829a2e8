import { main } from '../../src/cli/main.js';
import type { CliContext } from '../../src/cli/context.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { createMemoryLogger } from '../../src/util/logger.js';

/** Runs the CLI in-process; returns its exit code, stdout and log lines. */
export async function runCli(...args: string[]): Promise<{ code: number; stdout: string; log: string }> {
  let stdout = '';
  const logger = createMemoryLogger();
  const cli: CliContext = {
    output: { write: (text) => void (stdout += text) },
    logger,
    createKernel: (options) => new Kernel({ ...options, logger }),
  };
  const code = await main(['node', 'mtlzoo', ...args], cli);
  return { code, stdout, log: logger.lines.join('\n') };
}
