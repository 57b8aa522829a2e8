/** Aligned text tables for the terminal and for markdown files (the CLI, analysis summaries, reports). */

export interface TableOptions {
  /** A GitHub-flavoured markdown table instead of plain columns aligned with spaces. */
  readonly markdown?: boolean;
  /** Which columns hold numbers: right-aligned (and marked so in markdown). */
  readonly numeric?: readonly boolean[];
  /** Plain tables only: a line of dashes under the header (default true). */
  readonly rule?: boolean;
}

/** Formats rows under a header line; every line, the last included, ends with a newline. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const numeric = (i: number) => options.numeric?.[i] ?? false;
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (text: string, i: number) => (numeric(i) ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const line = (cells: readonly string[]) => {
    const padded = headers.map((_, i) => pad(cells[i] ?? '', i));
    return options.markdown ? `| ${padded.join(' | ')} |` : padded.join('  ').trimEnd();
  };
  const rule = options.markdown
    ? `|${widths.map((w, i) => (numeric(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`
    : options.rule === false
      ? undefined
      : line(widths.map((w) => '-'.repeat(w)));
  return [line(headers), ...(rule === undefined ? [] : [rule]), ...rows.map(line)].join('\n') + '\n';
}
