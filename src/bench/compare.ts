/**
 * Two rows of a finished bench compared directly, as the bench compares every row with its baseline: the
 * paired difference of each recipe metric (same seeds, same test queries), Δm of one against the other,
 * and the difference of their final gradient angles when both were probed. For comparisons the recorded
 * table does not hold (modulation against shared or csn, not only against separate networks).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { TrainSummary } from '../engine/trainer.js';
import { MtlzooError } from '../errors.js';
import type { BenchResults } from './results.js';
import { readRunMeasurements } from './measurements.js';
import { findRun, locateRuns } from './run-locations.js';
import {
  angleDifferenceCell,
  deltaMCell,
  pairedCell,
  type DifferenceCell,
  type RunMeasurements,
} from './statistics.js';

export interface RowComparison {
  readonly bench: string;
  /** The row compared, and the row it is compared against (the reference of Δm). */
  readonly a: string;
  readonly b: string;
  /** Seeds both rows have: the pairs. */
  readonly seeds: readonly number[];
  readonly tasks: readonly string[];
  /** `a − b` per recipe metric, over all tasks. */
  readonly metrics: Readonly<Record<string, DifferenceCell>>;
  /** Δm of `a` against `b` (a fraction). */
  readonly deltaM: DifferenceCell;
  /** Final across-task angle of `a` minus `b`'s (degrees); absent unless both rows were probed. */
  readonly angle?: DifferenceCell;
}

async function readResults(dir: string): Promise<BenchResults> {
  const file = path.join(dir, 'results.json');
  let parsed: BenchResults;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8')) as BenchResults;
  } catch (error) {
    throw new MtlzooError(
      'USAGE',
      `${file}: ${(error as Error).message} (compare reads a finished bench)`,
      2,
    );
  }
  if (!Array.isArray(parsed?.rows) || !Array.isArray(parsed.metrics)) {
    throw new MtlzooError('DATA_INVALID', `${file}: expected a bench's results (rows and metrics)`);
  }
  return parsed;
}

/** Every run of every row, located here, read as the bench read them; a missing run is named. */
async function measurementsOf(dir: string, results: BenchResults, labels: readonly string[]) {
  const places = locateRuns(
    dir,
    results.rows.flatMap((r) => r.runDirs),
  );
  const byLabel = new Map<string, RunMeasurements[]>();
  let next = 0;
  for (const row of results.rows) {
    const start = next;
    next += row.runDirs.length;
    if (!labels.includes(row.label)) continue;
    const runs: RunMeasurements[] = [];
    for (const [i, seed] of row.seeds.entries()) {
      const place = places[start + i]!;
      const found = await findRun(place.candidates);
      const summaryFile = found && path.join(found, 'summary.json');
      const text = summaryFile && (await fs.readFile(summaryFile, 'utf8').catch(() => undefined));
      if (!text) {
        throw new MtlzooError(
          'USAGE',
          `${row.label}, seed ${seed}: no finished run at ${place.candidates.join(' or ')}; compare needs ` +
            'the runs of both rows (their per-query test values), not only results.json',
          2,
        );
      }
      const summary = JSON.parse(text) as TrainSummary;
      runs.push(await readRunMeasurements({ ...summary, runDir: found }, seed));
    }
    byLabel.set(row.label, runs);
  }
  return byLabel;
}

export async function compareRows(benchDir: string, a: string, b: string): Promise<RowComparison> {
  const dir = path.resolve(benchDir);
  const results = await readResults(dir);
  const labels = results.rows.map((r) => r.label);
  for (const label of [a, b]) {
    if (!labels.includes(label)) {
      throw new MtlzooError('USAGE', `${dir}: no row "${label}"; its rows: ${labels.join(', ')}`, 2);
    }
  }
  if (a === b) throw new MtlzooError('USAGE', `compare two different rows, not "${a}" with itself`, 2);
  const runs = await measurementsOf(dir, results, [a, b]);
  const mine = runs.get(a)!;
  const theirs = runs.get(b)!;
  const probed = (r: readonly RunMeasurements[]) => r.every((run) => (run.probes?.length ?? 0) > 0);
  return {
    bench: dir,
    a,
    b,
    seeds: mine.map((r) => r.seed).filter((s) => theirs.some((r) => r.seed === s)),
    tasks: results.tasks,
    metrics: Object.fromEntries(
      results.metrics.map((name) => [name, pairedCell(mine, theirs, name, results.tasks)]),
    ),
    deltaM: deltaMCell(mine, theirs, results.metrics, results.tasks),
    ...(probed(mine) && probed(theirs) ? { angle: angleDifferenceCell(mine, theirs) } : {}),
  };
}
