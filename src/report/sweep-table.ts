/**
 * A sweep as markdown: each method's Δm against the baseline, its first metric, and its gradient angles
 * on the shared weights, level by level, with the benches' 95 % intervals (JSON writes NaN as null, so a
 * missing figure reads as – here).
 */
import type { BenchRow } from '../bench/bench.js';
import type { CellStats, DifferenceCell } from '../bench/statistics.js';
import type { SweepLevel } from '../bench/sweep.js';
import { NOT_SIGNIFICANT } from './bench-table.js';

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

function figure(stats: CellStats | DifferenceCell | undefined, digits: number, scale = 1): string {
  if (!stats || stats.n === 0 || !finite(stats.mean)) return '–';
  const ci = stats.ci && finite(stats.ci.low) && finite(stats.ci.high) ? stats.ci : undefined;
  const shown = `${(stats.mean * scale).toFixed(digits)}${ci ? ` [${(ci.low * scale).toFixed(digits)}, ${(ci.high * scale).toFixed(digits)}]` : ''}`;
  return 'significant' in stats && ci && !stats.significant ? `${shown} ${NOT_SIGNIFICANT}` : shown;
}

function table(
  knob: string,
  levels: readonly SweepLevel[],
  labels: readonly string[],
  pick: (row: BenchRow) => string,
): string {
  // The knob's last key names the columns (`relatedness = 0.5`); the full path heads the tables.
  const name = knob.split('.').pop()!;
  const headers = ['method', ...levels.map((l) => `${name} = ${JSON.stringify(l.value)}`)];
  const rows = labels.map((label) => [
    label,
    ...levels.map((level) => {
      const row = level.results.rows.find((r) => r.label === label);
      return row ? pick(row) : '–';
    }),
  ]);
  return (
    `| ${headers.join(' | ')} |\n|${headers.map(() => '---').join('|')}|\n` +
    rows.map((r) => `| ${r.join(' | ')} |`).join('\n') +
    '\n'
  );
}

export function formatSweepMarkdown(knob: string, levels: readonly SweepLevel[]): string {
  const first = levels[0]!.results;
  const labels = [...new Set(levels.flatMap((l) => l.results.rows.map((r) => r.label)))];
  const metric = first.metrics[0]!;
  const baseline = first.baseline;
  const versus = first.angleBaseline;
  const probed = labels.filter((label) =>
    levels.some((l) => l.results.rows.find((r) => r.label === label)?.gradients),
  );
  const parts = [
    `## ${levels.map((l) => l.results.entry).join(', ')}: across ${knob}\n\n` +
      `Mean over seeds [95 % interval, bootstrap over seeds and test queries; the angles' over seeds]; ` +
      `${NOT_SIGNIFICANT}: the interval of a difference contains 0.\n`,
    `\n**${metric}** (over all tasks)\n\n` +
      table(knob, levels, labels, (row) => figure(row.metrics[metric], 3)),
  ];
  if (baseline) {
    parts.push(
      `\n**Δm vs ${baseline} (%)**\n\n` +
        table(knob, levels, labels, (row) =>
          row.label === baseline ? 'baseline' : figure(row.deltaM, 2, 100),
        ),
    );
  }
  if (probed.length > 0) {
    parts.push(
      `\n**Final across-task gradient angle on the shared weights (°)**\n\n` +
        table(knob, levels, probed, (row) => figure(row.gradients?.finalAngle, 1)),
      `\n**Within-task angle, the noise floor (°)**\n\n` +
        table(knob, levels, probed, (row) => figure(row.gradients?.finalWithin, 1)),
    );
    if (versus) {
      parts.push(
        `\n**Final across-task angle − ${versus}'s, paired by seed (°)**\n\n` +
          table(
            knob,
            levels,
            probed.filter((l) => l !== versus),
            (row) => figure(row.angleVersus?.difference, 1),
          ),
      );
    }
  }
  return parts.join('');
}
