/**
 * What a bench reads back from a finished run's folder for its statistics: the per-query test values
 * (`test-samples.json`) and the gradient probe records of the run's log.
 */
import { promises as fs } from 'node:fs';
import { probeRecordsOf } from '../analysis/probe.js';
import { SAMPLES_FORMAT, type TestSamples } from '../engine/evaluation.js';
import { RunDir } from '../engine/run-dir.js';
import type { TrainSummary } from '../engine/trainer.js';
import { MtlzooError } from '../errors.js';
import type { RunMeasurements } from './statistics.js';

/** The run's test-samples.json, or undefined when it has none (runs recorded before samples were kept). */
async function readSamples(run: RunDir): Promise<TestSamples | undefined> {
  const file = run.path('samples');
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  let parsed: Partial<TestSamples>;
  try {
    parsed = JSON.parse(text) as Partial<TestSamples>;
  } catch (error) {
    throw new MtlzooError('DATA_INVALID', `${file}: ${(error as Error).message}`);
  }
  if (parsed.format !== SAMPLES_FORMAT || !Array.isArray(parsed.metrics)) {
    throw new MtlzooError(
      'DATA_INVALID',
      `${file}: expected format "${SAMPLES_FORMAT}" with a metrics list, got format ${JSON.stringify(parsed.format)}`,
    );
  }
  return parsed as TestSamples;
}

/** The measurements of one finished run of `seed`, read from its folder. */
export async function readRunMeasurements(summary: TrainSummary, seed: number): Promise<RunMeasurements> {
  const run = new RunDir(summary.runDir);
  const samples = await readSamples(run);
  return {
    seed,
    test: summary.test,
    ...(samples ? { samples } : {}),
    probes: probeRecordsOf(await run.readMetrics()),
    steps: summary.steps,
  };
}
