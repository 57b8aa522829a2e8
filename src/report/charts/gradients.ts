/** Gradient directions across tasks: the mean angle over training, and the task × task cosine at the end. */
import type { AnglePoint, ReportData } from '../data.js';
import type { Figure, FigureSource, NoteFigure } from '../figure.js';
import { escapeHtml as esc } from '../html/escape.js';
import { lineChart } from './builders.js';
import { chart, exact, heatmapLayers, matrixRows, perSeedText } from './spec.js';

const CELL = 34;

/** `<code>a</code>, <code>b</code>` and how many more, of run folders. */
function folderList(dirs: readonly string[]): string {
  const shown = dirs.slice(0, 4).map((d) => `<code>${esc(d)}</code>`);
  return `${shown.join(', ')}${dirs.length > 4 ? ` and ${dirs.length - 4} more` : ''}`;
}

/** Why a section that needs run folders is empty or partial; undefined when every run was read. */
export function missingRunsNote(data: ReportData, what: string): NoteFigure | undefined {
  const { missingRuns, unreadableRuns } = data;
  if (missingRuns.length === 0 && unreadableRuns.length === 0) return undefined;
  const missing =
    missingRuns.length > 0
      ? `${missingRuns.length} run folder(s) named in results.json are not here (${folderList(missingRuns)}), ` +
        `so ${what} leave them out. Keep the bench folder whole, or copy the run folders beside results.json.`
      : '';
  const unreadable =
    unreadableRuns.length > 0
      ? `${unreadableRuns.length} run folder(s) could not be read (${folderList(unreadableRuns.map((r) => r.dir))}; ` +
        `why: under Comparison), so ${what} leave them out.`
      : '';
  return { kind: 'note', html: [missing, unreadable].filter(Boolean).join(' ') };
}

/** A point's interval: the bench's 95 % interval over seeds, else the range over the seeds read here. */
function angleInterval(a: AnglePoint): { lo?: number; hi?: number; kind?: 'ci' | 'range' } {
  if (a.low !== undefined && a.high !== undefined && Number.isFinite(a.low) && Number.isFinite(a.high)) {
    return { lo: a.low, hi: a.high, kind: 'ci' };
  }
  const values = a.seeds.map((s) => s.degrees).filter(Number.isFinite);
  return values.length > 1 ? { lo: Math.min(...values), hi: Math.max(...values), kind: 'range' } : {};
}

function angleChart(data: ReportData): Figure[] {
  const kinds = new Set<string>();
  const spec = lineChart(data, {
    description: 'Mean across-task gradient angle over training, one curve per method',
    x: { title: 'training step', integer: true },
    y: { title: 'mean angle between tasks (°)' },
    reference: { y: 90, label: 'orthogonal (90°)' },
    points: data.methods.flatMap((m) =>
      m.angle.map((a) => {
        const { kind, ...interval } = angleInterval(a);
        if (kind && Number.isFinite(a.degrees)) kinds.add(kind);
        return {
          method: m.label,
          x: a.step,
          y: a.degrees,
          ...interval,
          tooltip: {
            step: a.step,
            'mean angle (°), mean over seeds': exact(a.degrees, 2),
            ...(a.within !== undefined ? { 'within a task (°), the noise floor': exact(a.within, 2) } : {}),
            ...(a.seeds.length > 0
              ? {
                  'per seed': perSeedText(
                    a.seeds.map((s) => ({ seed: s.seed, value: s.degrees })),
                    1,
                  ),
                }
              : {}),
          },
        };
      }),
    ),
  });
  if (!spec) return [];
  const bars = [
    ...(kinds.has('ci') ? ['the 95 % interval over seeds'] : []),
    ...(kinds.has('range') ? ['the range over seeds'] : []),
  ];
  const unprobed = data.methods.filter((m) => m.angle.length === 0).map((m) => esc(m.label));
  return [
    {
      kind: 'chart',
      name: 'gradient-angle',
      spec,
      caption:
        `Mean across-task gradient angle over training${data.seeds.length > 1 ? ', mean over seeds' : ''}` +
        `${bars.length > 0 ? ` (bars: ${bars.join('; ')})` : ''}.` +
        (unprobed.length > 0
          ? ` Not probed (no shared parameters or probe off): ${unprobed.join(', ')}.`
          : ''),
    },
  ];
}

function cosineChart(data: ReportData): Figure[] {
  const shown = data.methods.filter((m) => m.cosine);
  if (shown.length === 0) return [];
  const panel = (label: string, step: number) => `${label} · step ${step}`;
  const rows = shown.flatMap((m) =>
    matrixRows(data.tasks, m.cosine!.matrix, 2, { method: m.label, panel: panel(m.label, m.cosine!.step) }),
  );
  const size = data.tasks.length * CELL;
  const spec = chart('Task × task gradient cosine at the last probed step, one map per method', {
    data: { values: rows },
    columns: Math.min(3, shown.length),
    resolve: { axis: { x: 'independent', y: 'independent' } },
    facet: {
      field: 'panel',
      type: 'nominal',
      sort: shown.map((m) => panel(m.label, m.cosine!.step)),
      title: null,
    },
    spec: {
      width: size,
      height: size,
      layer: heatmapLayers(data.tasks, [-1, 1], 'gradient cosine', [{ field: 'method', title: 'method' }]),
    },
  });
  return [
    {
      kind: 'chart',
      name: 'gradient-cosine',
      spec,
      caption:
        `Gradient cosine between tasks at the last probed step${data.seeds.length > 1 ? ', mean over seeds' : ''} ` +
        `(blue −1, white 0, red 1); n/a where a task's gradient is zero, i.e. every probe triplet of it already meets the margin.`,
    },
  ];
}

export const gradientFigures: FigureSource = {
  section: 'gradients',
  build(data) {
    const missing = missingRunsNote(data, 'the probe records');
    if (data.methods.every((m) => m.angle.length === 0)) {
      return [
        missing ?? {
          kind: 'note',
          html: 'No probe records: train with <code>train.probe.every</code> &gt; 0 to draw these charts.',
        },
      ];
    }
    return [...(missing ? [missing] : []), ...angleChart(data), ...cosineChart(data)];
  },
};
