/** Where CLI commands write: stdout for results, the logger (stderr) for everything else. */
export interface CliOutput {
  write(text: string): void;
}

export const stdoutOutput: CliOutput = { write: (text) => void process.stdout.write(text) };
