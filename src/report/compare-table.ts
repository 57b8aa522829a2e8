/** Two rows of a bench compared (`mtlzoo analyze compare`), as markdown. */
import type { RowComparison } from '../bench/compare.js';
import { difference, NOT_SIGNIFICANT, table } from './bench-table.js';

export function formatComparison(c: RowComparison): string {
  const rows: string[][] = [
    ...Object.entries(c.metrics).map(([name, stats]) => [`Δ ${name}`, difference(stats)]),
    [`Δm of ${c.a} against ${c.b} (%)`, difference(c.deltaM, 2, 100)],
    ...(c.angle ? [['final across-task angle on the shared weights (°)', difference(c.angle, 1)]] : []),
  ];
  return (
    `**${c.a} − ${c.b}** (${c.bench}: paired by seed and test query over seeds ${c.seeds.join(', ')} and ` +
    `all ${c.tasks.length} tasks; mean [95 % interval]; ${NOT_SIGNIFICANT}: the interval contains 0)\n\n` +
    table(['', `${c.a} − ${c.b}`], rows) +
    (c.angle ? '' : '\nNo gradient angles: the probe did not run in both rows (train.probe.every > 0).\n')
  );
}
