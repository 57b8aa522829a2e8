/** Learned task relatedness: per method, one heat map per stage of per-task variables. */
import path from 'node:path';
import type { Matrix } from '../../metrics/gradients.js';
import type { ReportData, ReportMethod } from '../data.js';
import { figureName, type Figure, type FigureSource } from '../figure.js';
import { escapeHtml as esc } from '../html/escape.js';
import { missingRunsNote } from './gradients.js';
import { chart, heatmapLayers, matrixRows } from './spec.js';

/** Cell side in pixels: room for `0.` and the decimals at the maps' font size. */
const cellFor = (digits: number) => Math.max(40, Math.ceil((digits + 3) * 6.5));

/** Colour range of a relatedness matrix: its own off-diagonal range, since learned vectors stay close. */
export function relatednessDomain(matrix: Matrix): [number, number] {
  const off = matrix.flatMap((row, i) => row.filter((v, j) => i !== j && Number.isFinite(v)));
  const lo = off.length > 0 ? Math.min(...off) : -1;
  const hi = off.length > 0 ? Math.max(...off) : 1;
  return hi - lo < 1e-6 ? [lo - 1e-3, hi] : [lo, hi];
}

/** Enough decimals to tell the values of a map apart: learned vectors often agree to the third. */
function digitsFor([lo, hi]: readonly [number, number]): number {
  return Math.min(5, Math.max(3, Math.ceil(-Math.log10(hi - lo)) + 1));
}

function methodFigures(data: ReportData, method: ReportMethod): Figure[] {
  const r = method.relatedness;
  const label = `<b>${esc(method.label)}</b>`;
  if (method.relatednessError) {
    return [{ kind: 'note', html: `${label}: ${esc(method.relatednessError)}` }];
  }
  if (!r) {
    return method.runs.some((run) => run.here && !run.unreadable)
      ? [{ kind: 'note', html: `${label}: no checkpoint to read.` }]
      : [];
  }
  if (r.stages.length === 0) {
    return [
      {
        kind: 'note',
        html: `${label}: no per-task variables of one shape across tasks, nothing to compare.`,
      },
    ];
  }
  const spec = chart(`Learned relatedness of ${method.label}: task × task cosine per stage`, {
    columns: Math.min(3, r.stages.length),
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    concat: r.stages.map((s, i) => {
      const domain = relatednessDomain(s.matrix);
      const digits = digitsFor(domain);
      const size = r.tasks.length * cellFor(digits);
      return {
        title: { text: `${s.stage} [${s.shape.join('×')}]`, fontSize: 12, fontWeight: 'normal' },
        width: size,
        height: size,
        data: { values: matrixRows(r.tasks, s.matrix, digits, { stage: s.stage }) },
        layer: heatmapLayers(
          r.tasks,
          domain,
          s.rectified ? 'cosine of ReLU(v)' : 'cosine',
          [{ field: 'stage', title: 'stage' }],
          `stage${i}`,
        ),
      };
    }),
  });
  const factorNotes = r.stages
    .filter((s) => s.byFactor)
    .map(
      (s) =>
        `${esc(s.stage)}: pairs sharing a factor (${esc(s.byFactor!.sharing.pairs.join(', '))}) ` +
        `${s.byFactor!.sharing.mean.toFixed(4)}, other pairs ${s.byFactor!.other.mean.toFixed(4)}`,
    );
  const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const offDiagonal = (m: Matrix) => m.flatMap((row, i) => row.filter((_, j) => j > i));
  const moveNotes = r.stages
    .filter((s) => s.change)
    .map(
      (s) =>
        `${esc(s.stage)} ${mean(s.change!.norms).toFixed(3)} (cosine ${mean(offDiagonal(s.change!.matrix)).toFixed(3)})`,
    );
  return [
    {
      kind: 'chart',
      name: figureName('relatedness', method.label),
      spec,
      caption:
        `${label} (${esc(path.basename(r.checkpoint))} checkpoint, step ${r.step}): cosine between the tasks' ` +
        `${r.stages.some((s) => s.rectified) ? 'ReLU(v)' : 'v'} per stage; each map's colours span its own ` +
        `off-diagonal range.${factorNotes.length > 0 ? ` Mean cosine, ${factorNotes.join('; ')}.` : ''}` +
        (moveNotes.length > 0
          ? ` Moved from the initial values in training (mean L2 over tasks, and mean cosine between two ` +
            `tasks' moves): ${moveNotes.join('; ')}.`
          : ''),
    },
  ];
}

export const relatednessFigures: FigureSource = {
  section: 'relatedness',
  build(data) {
    const missing = missingRunsNote(data, 'the learned relatedness maps');
    return [...(missing ? [missing] : []), ...data.methods.flatMap((m) => methodFigures(data, m))];
  },
};
