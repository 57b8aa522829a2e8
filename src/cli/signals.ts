/**
 * Ctrl-C and its relatives for commands that write runs. The first SIGINT, SIGTERM or SIGHUP asks the
 * command to stop after its current step: the trainer writes `last`, and the command exits with
 * 128 + the signal's number (130, 143, 129) saying how to resume. A second signal exits at once (locks are
 * still released; the checkpoint of the last completed save stands).
 */
import os from 'node:os';
import type { Logger } from '../plugin/types.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function withStopSignals<T>(log: Logger, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      log.info(`${name} again: stopping now, without saving`);
      process.exit(128 + os.constants.signals[name]);
    }
    log.info(
      `${name}: stopping after the current step and saving a checkpoint (${name} again stops at once)`,
    );
    controller.abort(name);
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  try {
    return await work(controller.signal);
  } finally {
    // Once stopping, the process is on its way out: a signal during the last messages still exits at
    // once with its code, rather than by the default handler (no exit code at all).
    if (!controller.signal.aborted) for (const name of STOP_SIGNALS) process.off(name, onSignal);
  }
}
