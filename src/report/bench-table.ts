/** The comparison table of a bench, as markdown (for results.md, README and the terminal). */
import type { BenchResults, BenchRow } from '../bench/results.js';
import { methodLabelOf } from '../bench/recipe.js';
import { formatSpread, type Spread } from '../metrics/summary.js';

function cell(spread: Spread | undefined, digits = 3, scale = 1): string {
  if (!spread || spread.n === 0) return '–';
  const scaled = { ...spread, mean: spread.mean * scale, std: spread.std * scale };
  return spread.n > 1 ? formatSpread(scaled, digits) : scaled.mean.toFixed(digits);
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

export function formatBenchMarkdown(results: BenchResults): string {
  const headers = [
    'method',
    ...results.metrics,
    ...(results.baseline ? [`Δm vs ${results.baseline} (%)`] : []),
    'params',
    'params/task',
    'MB',
    'gallery passes',
    'ms/step',
    'embed ms/img',
  ];
  const rows = results.rows.map((row) => [
    `${row.label}: ${methodName(row)}`,
    ...results.metrics.map((m) => cell(row.metrics[m])),
    ...(results.baseline
      ? [methodLabelOf(row.label) === results.baseline ? 'baseline' : cell(row.deltaM, 2, 100)]
      : []),
    row.params.totalParams.toLocaleString('en-US'),
    row.params.paramsPerTask.toLocaleString('en-US'),
    (row.params.bytes / 1e6).toFixed(2),
    String(row.params.galleryPasses),
    cell(row.msPerStep, 0),
    cell(row.embedMsPerImage, 2),
  ]);
  const perTaskHeaders = ['method', ...results.tasks];
  const perTask = results.metrics.map(
    (metric) =>
      `\n**${metric} per task**\n\n| ${perTaskHeaders.join(' | ')} |\n|${perTaskHeaders.map(() => '---').join('|')}|\n` +
      results.rows
        .map(
          (row) =>
            `| ${row.label} | ${results.tasks.map((t) => cell(row.perTask[metric]?.[t])).join(' | ')} |`,
        )
        .join('\n') +
      '\n',
  );
  const env = results.environment;
  return (
    `## ${results.entry}\n\n${results.description}\n\n` +
    `Dataset ${results.dataset} (tasks: ${results.tasks.join(', ')}), backbone ${results.backbone}, ${results.steps} steps, seeds ${results.seeds.join(', ')}; test split, mean ± std over seeds.\n\n` +
    `| ${headers.join(' | ')} |\n|${headers.map(() => '---').join('|')}|\n` +
    rows.map((r) => `| ${r.join(' | ')} |`).join('\n') +
    '\n' +
    perTask.join('') +
    `\nMeasured ${results.date.slice(0, 10)} on ${env.cpu} (${env.cores} cores), backend ${env.backend}${env.nativePack ? ' with the native pack' : ''}${env.gpu ? ` on ${env.gpu}` : ''}, Node ${env.node}, tfjs ${env.tfjs}, mtlzoo ${env.mtlzoo}.\n`
  );
}
