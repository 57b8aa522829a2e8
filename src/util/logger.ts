import type { Logger } from '../plugin/types.js';

/**
 * Messages go to stderr so that `--json` output on stdout stays machine-readable. Progress lines redraw
 * in place on a terminal and are dropped elsewhere (CI logs would fill with them).
 */
export function createConsoleLogger(stream: NodeJS.WriteStream = process.stderr): Logger {
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) {
      stream.write('\r\x1b[2K');
      progressShown = false;
    }
  };
  return {
    info(message) {
      clearProgress();
      stream.write(`${message}\n`);
    },
    warn(message) {
      clearProgress();
      stream.write(`warning: ${message}\n`);
    },
    progress(message) {
      if (!stream.isTTY) return;
      stream.write(`\r\x1b[2K${message.slice(0, (stream.columns ?? 100) - 1)}`);
      progressShown = true;
    },
  };
}

/** A logger that keeps every message, for tests and for embedding mtlzoo in other programs. */
export function createMemoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(m),
    warn: (m) => void lines.push(`warning: ${m}`),
    progress: () => undefined,
  };
}
