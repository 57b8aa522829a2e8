/** The comparison table of a bench, as markdown (for results.md, README and the terminal). */
import type { BenchResults, BenchRow } from '../bench/results.js';
import { methodLabelOf } from '../bench/recipe.js';
import type { CellStats, DifferenceCell } from '../bench/statistics.js';
import { nativePackNote } from '../engine/environment.js';
import { formatSpread, type Spread } from '../metrics/summary.js';

/** Shown after a difference whose 95 % interval contains 0. */
export const NOT_SIGNIFICANT = 'n.s.';

function cell(spread: Spread | undefined, digits = 3, scale = 1): string {
  if (!spread || spread.n === 0) return '–';
  const scaled = { ...spread, mean: spread.mean * scale, std: spread.std * scale };
  return spread.n > 1 ? formatSpread(scaled, digits) : scaled.mean.toFixed(digits);
}

/** The 95 % interval as `[low, high]`, or – when the cell has none (results recorded before intervals). */
function interval(stats: CellStats | undefined, digits = 3, scale = 1): string {
  const ci = stats?.ci;
  if (!ci || !Number.isFinite(ci.low)) return '–';
  return `[${(ci.low * scale).toFixed(digits)}, ${(ci.high * scale).toFixed(digits)}]`;
}

/** `mean ± std [low, high]` in one cell. */
function withInterval(stats: CellStats | undefined, digits = 3, scale = 1): string {
  const shown = cell(stats, digits, scale);
  return stats?.ci ? `${shown} ${interval(stats, digits, scale)}` : shown;
}

/** A difference with its interval, marked when the interval contains 0. */
export function difference(stats: DifferenceCell | undefined, digits = 3, scale = 1): string {
  if (!stats || stats.n === 0) return '–';
  const sign = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
  const shown = `${sign(stats.mean * scale)} ${interval(stats, digits, scale)}`;
  return stats.significant ? shown : `${shown} ${NOT_SIGNIFICANT}`;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return (
    `| ${headers.join(' | ')} |\n|${headers.map(() => '---').join('|')}|\n` +
    rows.map((r) => `| ${r.join(' | ')} |`).join('\n') +
    '\n'
  );
}

function refName(given: NonNullable<BenchRow['weighting']>): string {
  const ref = typeof given === 'string' ? { name: given, options: {} } : given;
  const options = Object.entries(ref.options ?? {})
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return options ? `${ref.name} (${options})` : ref.name;
}

/** The row's method, and its weighting when the recipe sets one: `shared + pcgrad`. */
function methodName(row: BenchRow): string {
  return row.weighting === undefined
    ? refName(row.method)
    : `${refName(row.method)} + ${refName(row.weighting)}`;
}

/**
 * What interim results leave out (undefined for a bench's own results): the rows whose runs are not all
 * done, each with its runs' states, and what that takes from the table.
 */
export function interimNote(
  pending: BenchResults['pending'],
  shown: number,
  baseline: string | undefined,
): string | undefined {
  if (!pending) return undefined;
  const rows = pending.map(
    (row) => `${row.label} (${row.seeds.map((s) => `seed ${s.seed} ${s.state}`).join(', ')})`,
  );
  const noBaseline =
    baseline && pending.some((row) => methodLabelOf(row.label) === baseline)
      ? ` ${baseline} is among them: rows compared with a pending ${baseline} row have no Δm yet.`
      : '';
  return (
    `Interim results: ${shown} of ${shown + pending.length} rows, those whose every run is done; ` +
    `not yet: ${rows.join('; ')}.${noBaseline} The bench writes its own results when every run is done.`
  );
}

export function formatBenchMarkdown(results: BenchResults): string {
  const { baseline } = results;
  const headers = [
    'method',
    ...results.metrics.flatMap((m) => [m, '95 % CI']),
    ...(baseline ? [`Δm vs ${baseline} (%)`, '95 % CI'] : []),
    'params',
    'params/task',
    'MB',
    'gallery passes',
    'ms/step',
    'embed ms/img',
  ];
  const rows = results.rows.map((row) => [
    `${row.label}: ${methodName(row)}`,
    ...results.metrics.flatMap((m) => [cell(row.metrics[m]), interval(row.metrics[m])]),
    ...(baseline
      ? methodLabelOf(row.label) === baseline
        ? ['baseline', '']
        : [
            cell(row.deltaM, 2, 100),
            `${interval(row.deltaM, 2, 100)}${row.deltaM && !row.deltaM.significant && row.deltaM.ci ? ` ${NOT_SIGNIFICANT}` : ''}`,
          ]
      : []),
    row.params.totalParams.toLocaleString('en-US'),
    row.params.paramsPerTask.toLocaleString('en-US'),
    (row.params.bytes / 1e6).toFixed(2),
    String(row.params.galleryPasses),
    cell(row.msPerStep, 0),
    cell(row.embedMsPerImage, 2),
  ]);
  const compared = results.rows.filter((row) => row.versusBaseline);
  const paired =
    baseline && compared.length > 0
      ? `\n**Paired differences vs ${baseline}** (method − ${baseline} over all tasks, on the same seeds and ` +
        `test queries, with the 95 % interval; ${NOT_SIGNIFICANT}: the interval contains 0, the data do not ` +
        `tell the two apart)\n\n` +
        table(
          ['method', ...results.metrics.map((m) => `Δ ${m}`)],
          compared.map((row) => [
            row.label,
            ...results.metrics.map((m) => difference(row.versusBaseline?.[m])),
          ]),
        )
      : '';
  const probed = results.rows.filter((row) => row.gradients);
  const versus = results.angleBaseline;
  const angles =
    probed.length > 0
      ? `\n**Gradient angles on the shared weights** (degrees; mean across-task angle over the probes of the ` +
        `last quarter of training, mean ± std over seeds [95 % interval]; within-task: the angle between two ` +
        `halves of one task's probe triplets, the noise floor; active: probe triplets per task with a ` +
        `positive loss at the last probe, of ${probed[0]!.gradients!.tripletsPerTask})\n\n` +
        table(
          [
            'method',
            'across tasks',
            'within a task',
            ...(versus ? [`Δ vs ${versus}`] : []),
            'active per task',
          ],
          probed.map((row) => [
            row.label,
            withInterval(row.gradients!.finalAngle, 1),
            withInterval(row.gradients!.finalWithin, 1),
            ...(versus
              ? [methodLabelOf(row.label) === versus ? '–' : difference(row.angleVersus?.difference, 1)]
              : []),
            row.gradients!.active.map((a) => (Number.isFinite(a) ? a.toFixed(1) : '–')).join(' / '),
          ]),
        )
      : '';
  const perTask = results.metrics.map(
    (metric) =>
      `\n**${metric} per task** (mean ± std over seeds [95 % interval])\n\n` +
      table(
        ['method', ...results.tasks],
        results.rows.map((row) => [
          row.label,
          ...results.tasks.map((t) => withInterval(row.perTask[metric]?.[t])),
        ]),
      ),
  );
  const env = results.environment;
  const interim = interimNote(results.pending, results.rows.length, baseline);
  return (
    `## ${results.entry}\n\n${results.description}\n\n` +
    (interim ? `**${interim}**\n\n` : '') +
    `Dataset ${results.dataset} (tasks: ${results.tasks.join(', ')}), backbone ${results.backbone}, ${results.steps} steps, seeds ${results.seeds.join(', ')}; test split, mean ± std over seeds, 95 % intervals from a bootstrap over seeds and test queries.\n\n` +
    table(headers, rows) +
    paired +
    angles +
    perTask.join('') +
    `\nMeasured ${results.date.slice(0, 10)} on ${env.cpu} (${env.cores} cores), backend ${env.backend}${nativePackNote(env)}${env.gpu ? ` on ${env.gpu}` : ''}, Node ${env.node}, tfjs ${env.tfjs}, mtlzoo ${env.mtlzoo}${env.commit ? ` (commit ${env.commit})` : ''}.\n`
  );
}
