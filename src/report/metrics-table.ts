/** Metrics as a table: one row per metric, one column per task plus the all-task value. */
import type { Metric } from '../kinds/evaluator.js';
import { formatTable } from '../util/table.js';

export function formatMetricValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(4);
}

export function formatMetrics(metrics: readonly Metric[], taskOrder: readonly string[]): string {
  const names = [...new Set(metrics.map((m) => m.name))];
  const tasks = taskOrder.filter((t) => metrics.some((m) => m.task === t));
  const rows = names.map((name) => {
    const cell = (task: string | undefined) => {
      const metric = metrics.find((m) => m.name === name && m.task === task);
      return metric ? formatMetricValue(metric.value) : '';
    };
    return [name, cell(undefined), ...tasks.map(cell)];
  });
  return formatTable(['METRIC', 'ALL', ...tasks.map((t) => t.toUpperCase())], rows);
}
