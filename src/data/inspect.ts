/**
 * `mtlzoo data inspect`: per split and task, how many images there are, how many carry a label, how the
 * labels are balanced, how many fixed triplets there are, which cache file holds the pixels, and every
 * problem that would stop training. It reads a description (list files only, nothing decoded) or an
 * opened dataset.
 */
import type { Dataset, DatasetDescription, SplitLabels } from '../kinds/dataset.js';
import { SPLIT_NAMES, type SplitName } from '../kinds/dataset.js';
import { labelCounts, splitProblems } from './check.js';
import { dataError } from './files.js';

export interface LabelCount {
  readonly label: string;
  readonly count: number;
}

export interface TaskSplitReport {
  readonly task: string;
  readonly labelled: number;
  readonly unlabelled: number;
  /** Labels with at least one image. */
  readonly distinctLabels: number;
  /** Every label with its image count, in label order. */
  readonly labels: readonly LabelCount[];
  /** Fixed triplets, when the protocol fixes them. */
  readonly triplets?: number;
}

export interface SplitReport {
  readonly split: SplitName;
  /** Images in the split. */
  readonly size: number;
  /** What defines the split (a list file, an option). */
  readonly origin?: string;
  /** Decoded-image cache file; absent when pixels are held in memory or nothing was decoded. */
  readonly cacheFile?: string;
  readonly tasks: readonly TaskSplitReport[];
}

export interface DatasetReport {
  readonly dataset: string;
  /** `[H, W, 3]` of the decoded images; absent when only the list files were read. */
  readonly imageShape?: readonly number[];
  /** Whether images were decoded (`--decode`), so bad images are found and left out as configured. */
  readonly decoded: boolean;
  readonly tasks: readonly {
    name: string;
    description: string;
    factors: readonly string[];
    labels: number;
  }[];
  readonly splits: readonly SplitReport[];
  /** Everything that would stop training, each naming split and task; empty when the data is usable. */
  readonly problems: readonly string[];
}

function isOpened(data: Dataset | DatasetDescription): data is Dataset {
  return 'imageShape' in data;
}

export function inspectDataset(data: Dataset | DatasetDescription): DatasetReport {
  const splits: Readonly<Record<SplitName, SplitLabels & { cacheFile?: string }>> | undefined = data.splits;
  if (!splits) throw dataError(('missing' in data && data.missing) || `${data.name}: the data was not found`);
  return {
    dataset: data.name,
    imageShape: isOpened(data) ? [...data.imageShape] : undefined,
    decoded: isOpened(data),
    tasks: data.tasks.map((t) => ({
      name: t.name,
      description: t.description,
      factors: t.factors,
      labels: t.labelNames.length,
    })),
    splits: SPLIT_NAMES.map((name) => {
      const split = splits[name];
      return {
        split: name,
        size: split.size,
        origin: split.origin,
        cacheFile: split.cacheFile,
        tasks: data.tasks.map((task, t) => {
          const { counts, unlabelled } = labelCounts(split.labels[t]!, task.labelNames.length);
          const triplets = split.triplets?.[t];
          return {
            task: task.name,
            labelled: split.size - unlabelled,
            unlabelled,
            distinctLabels: counts.filter((c) => c > 0).length,
            labels: counts.map((count, k) => ({ label: task.labelNames[k]!, count })),
            triplets: triplets ? triplets.length / 3 : undefined,
          };
        }),
      };
    }),
    problems: splitProblems(data.name, data.tasks, splits),
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

function cacheText(report: DatasetReport, split: SplitReport): string {
  if (split.cacheFile) return `cache ${split.cacheFile}`;
  return report.decoded ? 'cache (in memory)' : 'not decoded (list files only; --decode to decode)';
}

export function formatDatasetReport(report: DatasetReport): string {
  const shape = report.imageShape ? `, images ${report.imageShape.join('×')}` : '';
  const lines = [`dataset ${report.dataset}${shape}`, 'tasks:'];
  for (const t of report.tasks) {
    lines.push(`  ${t.name}: ${t.description} (factors: ${t.factors.join(', ')}; ${t.labels} labels)`);
  }
  for (const split of report.splits) {
    const origin = split.origin ? ` from ${split.origin}` : '';
    lines.push(`${split.split}: ${split.size} images${origin}, ${cacheText(report, split)}`);
    for (const t of split.tasks) {
      const triplets =
        t.triplets === undefined ? 'triplets drawn from labels' : `${t.triplets} fixed triplets`;
      const missing = t.unlabelled ? `, ${t.unlabelled} unlabelled` : '';
      lines.push(
        `  ${t.task}: ${t.labelled} labelled${missing}, ${t.distinctLabels} distinct labels, ${triplets}`,
      );
      lines.push(`    ${balance(t)}`);
    }
  }
  lines.push(report.problems.length ? 'problems:' : 'problems: none');
  for (const problem of report.problems) lines.push(`  ${problem}`);
  return lines.join('\n');
}
