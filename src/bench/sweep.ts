/**
 * A sweep: several bench results that differ by one config value (a knob, e.g. the shapes data's
 * `dataset.options.relatedness`), read together so a table can follow each method across the levels.
 * Each level is a zoo entry (its recipe's base config holds the knob) or a bench output folder (its first
 * run's resolved config does).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { valueAt } from '../config/issues.js';
import { MtlzooError } from '../errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { BenchResults } from './bench.js';
import { loadRecipe, RECIPE_FILE } from './recipe.js';

export interface SweepLevel {
  /** The bench folder or zoo entry the results come from. */
  readonly dir: string;
  /** The knob's value at this level, as the config writes it. */
  readonly value: unknown;
  readonly results: BenchResults;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

async function knobValue(kernel: Kernel, dir: string, results: BenchResults, knob: string): Promise<unknown> {
  const configFile = (await exists(path.join(dir, RECIPE_FILE)))
    ? (await loadRecipe(dir)).configFile
    : results.rows[0]?.runDirs[0] && path.join(results.rows[0].runDirs[0], 'config.yaml');
  if (!configFile || !(await exists(configFile))) {
    throw new MtlzooError(
      'USAGE',
      `${dir}: no config to read ${knob} from (neither a ${RECIPE_FILE} nor its first run's config.yaml)`,
      2,
    );
  }
  const value = valueAt((await kernel.loadConfig(configFile)).config, knob.split('.'));
  if (value === undefined) {
    throw new MtlzooError('USAGE', `${configFile}: ${knob} is not set, so it cannot label this level`, 2);
  }
  return value;
}

/** The levels in the order given; every folder must hold results.json and set the knob. */
export async function loadSweep(
  kernel: Kernel,
  dirs: readonly string[],
  knob: string,
): Promise<SweepLevel[]> {
  const levels: SweepLevel[] = [];
  for (const given of dirs) {
    const dir = path.resolve(given);
    const file = path.join(dir, 'results.json');
    let results: BenchResults;
    try {
      results = JSON.parse(await fs.readFile(file, 'utf8')) as BenchResults;
    } catch (error) {
      throw new MtlzooError('USAGE', `${file}: ${(error as Error).message} (run mtlzoo bench first)`, 2);
    }
    levels.push({ dir, value: await knobValue(kernel, dir, results, knob), results });
  }
  return levels;
}
