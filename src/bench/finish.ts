/**
 * The end of a bench, local or queued: its results aggregated and written as results.json and results.md;
 * and a queued bench's interim results, before its end.
 */
import path from 'node:path';
import type { TrainSummary } from '../engine/trainer.js';
import { formatBenchMarkdown } from '../report/bench-table.js';
import { writeFileAtomic } from '../util/write.js';
import type { BenchPlan } from './plan.js';
import type { LoadedRecipe } from './recipe.js';
import { aggregateBench, type BenchResults, type PendingRow } from './results.js';
import { benchRows } from './runs.js';

/**
 * Aggregates a finished bench's summaries and writes results.json and results.md into its folder (and into
 * the zoo entry when the plan records). The caller holds the folders' locks.
 */
export async function finishBench(
  dir: string,
  entry: LoadedRecipe,
  plan: BenchPlan,
  summaries: ReadonlyMap<string, TrainSummary[]>,
): Promise<BenchResults> {
  const results = await aggregateBench(entry, plan, benchRows(entry, plan), summaries);
  await writeResults(dir, results);
  if (plan.record) await writeResults(entry.dir, results);
  return results;
}

/**
 * Interim results of an unfinished bench: the rows whose every run is done (`summaries` holds those),
 * aggregated as the final results will be, with the rows still `pending`; written into `dir` (never
 * into the zoo entry: an interim table is not a recording).
 */
export async function writeInterimResults(
  dir: string,
  entry: LoadedRecipe,
  plan: BenchPlan,
  summaries: ReadonlyMap<string, TrainSummary[]>,
  pending: readonly PendingRow[],
): Promise<BenchResults> {
  const rows = benchRows(entry, plan).filter((row) => summaries.has(row.label));
  const results = { ...(await aggregateBench(entry, plan, rows, summaries)), pending };
  await writeResults(dir, results);
  return results;
}

async function writeResults(dir: string, results: BenchResults): Promise<void> {
  await writeFileAtomic(path.join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, 'results.md'), formatBenchMarkdown(results));
}
