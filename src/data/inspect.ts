/**
 * `mtlzoo data inspect`: per split and task, how many images carry a label, how the labels are balanced,
 * how many fixed triplets there are, and which cache file holds the pixels.
 */
import type { Dataset } from '../kinds/dataset.js';
import { SPLIT_NAMES, type SplitName } from '../kinds/dataset.js';

export interface LabelCount {
  readonly label: string;
  readonly count: number;
}

export interface TaskSplitReport {
  readonly task: string;
  readonly labelled: number;
  readonly unlabelled: number;
  /** Every label with its image count, in label order. */
  readonly labels: readonly LabelCount[];
  /** Fixed triplets, when the protocol fixes them. */
  readonly triplets?: number;
}

export interface SplitReport {
  readonly split: SplitName;
  readonly size: number;
  /** Decoded-image cache file; absent when pixels are held in memory. */
  readonly cacheFile?: string;
  readonly tasks: readonly TaskSplitReport[];
}

export interface DatasetReport {
  readonly dataset: string;
  readonly imageShape: readonly number[];
  readonly tasks: readonly {
    name: string;
    description: string;
    factors: readonly string[];
    labels: number;
  }[];
  readonly splits: readonly SplitReport[];
}

export function inspectDataset(dataset: Dataset): DatasetReport {
  return {
    dataset: dataset.name,
    imageShape: [...dataset.imageShape],
    tasks: dataset.tasks.map((t) => ({
      name: t.name,
      description: t.description,
      factors: t.factors,
      labels: t.labelNames.length,
    })),
    splits: SPLIT_NAMES.map((name) => {
      const split = dataset.splits[name];
      return {
        split: name,
        size: split.size,
        cacheFile: split.cacheFile,
        tasks: dataset.tasks.map((task, t) => {
          const counts = new Array<number>(task.labelNames.length).fill(0);
          let unlabelled = 0;
          for (const label of split.labels[t]!) {
            if (label < 0) unlabelled++;
            else counts[label]!++;
          }
          const triplets = split.triplets?.[t];
          return {
            task: task.name,
            labelled: split.size - unlabelled,
            unlabelled,
            labels: counts.map((count, k) => ({ label: task.labelNames[k]!, count })),
            triplets: triplets ? triplets.length / 3 : undefined,
          };
        }),
      };
    }),
  };
}

const MAX_LISTED_LABELS = 10;

function balance(task: TaskSplitReport): string {
  const total = task.labelled || 1;
  const share = (c: LabelCount): string => `${c.label} ${c.count} (${((100 * c.count) / total).toFixed(1)}%)`;
  if (task.labels.length <= MAX_LISTED_LABELS) return task.labels.map(share).join(', ');
  const sorted = [...task.labels].sort((a, b) => b.count - a.count);
  const empty = sorted.filter((c) => c.count === 0).length;
  return (
    `${task.labels.length} labels (${empty} without images); largest ${sorted.slice(0, 3).map(share).join(', ')}; ` +
    `smallest ${share(sorted[sorted.length - 1]!)}`
  );
}

export function formatDatasetReport(report: DatasetReport): string {
  const lines = [`dataset ${report.dataset}, images ${report.imageShape.join('×')}`, 'tasks:'];
  for (const t of report.tasks) {
    lines.push(`  ${t.name}: ${t.description} (factors: ${t.factors.join(', ')}; ${t.labels} labels)`);
  }
  for (const split of report.splits) {
    lines.push(`${split.split}: ${split.size} images, cache ${split.cacheFile ?? '(in memory)'}`);
    for (const t of split.tasks) {
      const triplets =
        t.triplets === undefined ? 'triplets drawn from labels' : `${t.triplets} fixed triplets`;
      const missing = t.unlabelled ? `, ${t.unlabelled} unlabelled` : '';
      lines.push(`  ${t.task}: ${t.labelled} labelled${missing}, ${triplets}`);
      lines.push(`    ${balance(t)}`);
    }
  }
  return lines.join('\n');
}
