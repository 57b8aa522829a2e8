/**
 * What every split must hold before training starts: images, and per task either a non-empty fixed
 * triplet list or labels triplets can be drawn from (two distinct labels, and an anchor label on two
 * images). The sampler needs this on the train split, triplet-accuracy on val and test. Checked on the
 * description, before any image is decoded, and again on the opened dataset (skipped images may have
 * emptied a split), so a bad split stops a run at once rather than after training.
 */
import type { SplitLabels, SplitName, TaskInfo } from '../kinds/dataset.js';
import { SPLIT_NAMES } from '../kinds/dataset.js';
import { dataError } from './files.js';

/** The labels of one task in one split: image count per label id, in label order. */
export function labelCounts(
  labels: Int32Array,
  labelCount: number,
): { counts: number[]; unlabelled: number } {
  const counts = new Array<number>(labelCount).fill(0);
  let unlabelled = 0;
  for (const label of labels) {
    if (label < 0) unlabelled++;
    else counts[label] = (counts[label] ?? 0) + 1;
  }
  return { counts, unlabelled };
}

function taskProblem(task: TaskInfo, split: SplitLabels, t: number): string | undefined {
  const fixed = split.triplets?.[t];
  if (fixed) return fixed.length === 0 ? `task "${task.name}" has no triplets` : undefined;
  const { counts } = labelCounts(split.labels[t]!, task.labelNames.length);
  const present = counts.flatMap((count, label) => (count > 0 ? [label] : []));
  const named = (label: number) => `${task.labelNames[label] ?? label}: ${counts[label]}`;
  if (present.length < 2) {
    const which = present.length === 0 ? 'no labelled image' : `only label ${named(present[0]!)} image(s)`;
    return `task "${task.name}" has ${which}; triplets need at least 2 distinct labels`;
  }
  const anchors = task.anchorLabels ?? present;
  if (anchors.some((label) => (counts[label] ?? 0) >= 2)) return undefined;
  if (!task.anchorLabels) {
    return `task "${task.name}" has no label on two images; triplets need an anchor and a positive with one label`;
  }
  const names = anchors.map((l) => `${task.labelNames[l] ?? l}: ${counts[l] ?? 0}`).join(', ');
  return `task "${task.name}" has fewer than 2 images with an anchor label (${names}); triplets need an anchor and a positive`;
}

/** Every problem of every split, each naming the dataset, split (and what defines it) and task. */
export function splitProblems(
  name: string,
  tasks: readonly TaskInfo[],
  splits: Readonly<Record<SplitName, SplitLabels>>,
): string[] {
  const problems: string[] = [];
  for (const splitName of SPLIT_NAMES) {
    const split = splits[splitName];
    const where = `${name} ${splitName} split${split.origin ? ` (${split.origin})` : ''}`;
    if (split.size === 0) {
      problems.push(`${where}: no images; training and evaluation need images in every split`);
      continue;
    }
    tasks.forEach((task, t) => {
      const problem = taskProblem(task, split, t);
      if (problem) problems.push(`${where}: ${problem}`);
    });
  }
  return problems;
}

const MAX_SHOWN = 12;

/** Throws DATA_INVALID listing the problems (the first dozen; `data inspect` shows every one). */
export function checkSplits(
  name: string,
  tasks: readonly TaskInfo[],
  splits: Readonly<Record<SplitName, SplitLabels>>,
): void {
  const problems = splitProblems(name, tasks, splits);
  if (problems.length === 0) return;
  const shown = problems.slice(0, MAX_SHOWN);
  if (problems.length > MAX_SHOWN)
    shown.push(`… and ${problems.length - MAX_SHOWN} more (mtlzoo data inspect lists all)`);
  throw dataError(shown.join('\n'));
}
