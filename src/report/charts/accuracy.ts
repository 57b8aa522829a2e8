/** Accuracy against parameters (one point per method) and accuracy per task (one bar per method). */
import type { ReportData, ReportMethod } from '../data.js';
import type { Figure, FigureSource } from '../figure.js';
import { escapeHtml as esc } from '../html/escape.js';
import { groupedBarChart, scatterChart } from './builders.js';
import { exact, intervalMeaning, intervalOf, perSeedText } from './spec.js';

/** Each seed's test value of `metric` (over all tasks, or of one task), from the run folders found. */
function seedValues(method: ReportMethod, metric: string, task?: string) {
  return method.runs.flatMap((run) => {
    const found = run.test?.find((m) => m.name === metric && m.task === task);
    return found ? [{ seed: run.seed, value: found.value }] : [];
  });
}

function scatter(data: ReportData, metric: string): Figure[] {
  const singles = data.methods.flatMap((m) =>
    seedValues(m, metric).map((s) => ({
      method: m.label,
      x: m.params.totalParams,
      y: s.value,
      tooltip: { seed: s.seed, [metric]: exact(s.value) },
    })),
  );
  const spec = scatterChart(data, {
    description: `${metric} against trainable parameters, one point per method`,
    x: { title: 'trainable parameters (log scale)', log: true, format: '~s' },
    y: { title: metric },
    points: data.methods.flatMap((m) => {
      const spread = m.metrics[metric];
      if (!spread || !Number.isFinite(spread.mean)) return [];
      return [
        {
          method: m.label,
          x: m.params.totalParams,
          y: spread.mean,
          ...intervalOf(spread),
          tooltip: {
            [`${metric}, mean`]: exact(spread.mean),
            seeds: m.runs.map((r) => r.seed).join(', '),
            'per seed': perSeedText(seedValues(m, metric)),
            'trainable parameters': m.params.totalParams.toLocaleString('en-US'),
            'parameters per task': m.params.paramsPerTask.toLocaleString('en-US'),
          },
        },
      ];
    }),
    singles,
  });
  if (!spec) return [];
  const meaning = intervalMeaning(data.methods.map((m) => m.metrics[metric]));
  return [
    {
      kind: 'chart',
      name: 'accuracy-params',
      spec,
      caption:
        `Test ${esc(metric)} over all tasks against trainable parameters, one point per method (mean over seeds` +
        `${singles.length > 0 ? '; hollow points: single seeds' : ''}${meaning ? `; bars: ${meaning}` : ''}).`,
    },
  ];
}

function perTask(data: ReportData, metric: string): Figure[] {
  const spreads = data.methods.flatMap((m) => data.tasks.map((t) => m.perTask[metric]?.[t]));
  const spec = groupedBarChart(data, {
    description: `${metric} per task, one bar per method`,
    groups: data.tasks,
    y: { title: metric },
    bars: data.methods.flatMap((m) =>
      data.tasks.flatMap((task) => {
        const spread = m.perTask[metric]?.[task];
        if (!spread || !Number.isFinite(spread.mean)) return [];
        return [
          {
            method: m.label,
            group: task,
            value: spread.mean,
            ...intervalOf(spread),
            tooltip: {
              task,
              [`${metric}, mean`]: exact(spread.mean),
              'per seed': perSeedText(seedValues(m, metric, task)),
            },
          },
        ];
      }),
    ),
  });
  if (!spec) return [];
  const meaning = intervalMeaning(spreads);
  return [
    {
      kind: 'chart',
      name: 'accuracy-per-task',
      spec,
      caption: `Test ${esc(metric)} per task, one bar per method${meaning ? ` (${meaning})` : ''}.`,
    },
  ];
}

export const accuracyFigures: FigureSource = {
  section: 'accuracy',
  build(data) {
    const metric = data.metrics[0];
    return metric ? [...scatter(data, metric), ...perTask(data, metric)] : [];
  },
};
