/** Where CLI commands write: stdout for results, the logger (stderr) for everything else. */
export interface CliOutput {
  write(text: string): void;
}

export const stdoutOutput: CliOutput = { write: (text) => void process.stdout.write(text) };

/** Formats rows as an aligned plain-text table with a header line. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}
