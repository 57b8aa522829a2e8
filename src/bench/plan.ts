/**
 * A bench folder's plan (bench.json): the recipe, seeds, methods and steps it was started with, written
 * before the first run. A bench continues a folder only under the same plan, so an interrupted bench (local)
 * or a bench collected later (queued) aggregates exactly the runs it was started for.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MtlzooError } from '../errors.js';
import type { Logger } from '../plugin/types.js';
import { writeFileAtomic } from '../util/write.js';
import type { LoadedRecipe } from './recipe.js';

export const BENCH_PLAN = 'bench.json';
const PLAN_FORMAT = 'mtlzoo-bench/1';

/** What a bench folder was started with; a bench continues a folder only under the same plan. */
export interface BenchPlan {
  readonly format: string;
  /** Absolute path of the recipe file. */
  readonly recipe: string;
  readonly seeds: readonly number[];
  readonly methods: readonly string[];
  readonly steps: number | null;
  readonly record: boolean;
  /** Set when the runs are trained by queue workers (src/queue): the queue's address, without password. */
  readonly queue?: string;
}

/** The choices a bench is started with, beyond its recipe. */
export interface PlanChoices {
  /** Override the recipe's seeds. */
  seeds?: readonly number[];
  /** Only these method labels. */
  methods?: readonly string[];
  /** Override `train.steps` of the base config (for quick checks; recorded in the results). */
  steps?: number;
  /** Write results.json and results.md into the zoo entry as well. */
  record?: boolean;
}

export function planOf(entry: LoadedRecipe, choices: PlanChoices, queue?: string): BenchPlan {
  const methods = choices.methods
    ? entry.recipe.methods.filter((m) => choices.methods!.includes(m.label))
    : entry.recipe.methods;
  return {
    format: PLAN_FORMAT,
    recipe: entry.file,
    seeds: choices.seeds ?? entry.recipe.seeds,
    methods: methods.map((m) => m.label),
    steps: choices.steps ?? null,
    record: choices.record ?? false,
    ...(queue === undefined ? {} : { queue }),
  };
}

export async function readPlan(dir: string): Promise<BenchPlan | undefined> {
  const file = path.join(dir, BENCH_PLAN);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const plan = JSON.parse(text) as BenchPlan;
    if (plan.format === PLAN_FORMAT) return plan;
  } catch {
    // reported below
  }
  throw new MtlzooError('DATA_INVALID', `${file}: not a bench plan (${PLAN_FORMAT}); the file is damaged`);
}

/** The plan of the bench folder `dir`; a usage error when it holds none. */
export async function requirePlan(dir: string): Promise<BenchPlan> {
  const plan = await readPlan(dir);
  if (!plan) throw new MtlzooError('USAGE', `${dir} is not a bench folder (no ${BENCH_PLAN})`, 2);
  return plan;
}

/** Writes the plan into a new bench folder, or checks that an existing folder was started with it. */
export async function adoptPlan(dir: string, plan: BenchPlan, log: Logger): Promise<void> {
  const existing = await readPlan(dir);
  if (!existing) {
    const entries = (await fs.readdir(dir)).filter((e) => !e.startsWith('.'));
    if (entries.length > 0) {
      throw new MtlzooError(
        'USAGE',
        `${dir} is not empty and holds no ${BENCH_PLAN}: it is not a bench folder; pick another --out`,
        2,
      );
    }
    await writeFileAtomic(path.join(dir, BENCH_PLAN), `${JSON.stringify(plan, null, 2)}\n`);
    return;
  }
  const differences = (['recipe', 'seeds', 'methods', 'steps'] as const).filter(
    (key) => JSON.stringify(existing[key]) !== JSON.stringify(plan[key]),
  );
  if (differences.length > 0) {
    throw new MtlzooError(
      'USAGE',
      `${dir} holds a bench started with another ${differences.map((k) => `${k} (${JSON.stringify(existing[k])}, now ${JSON.stringify(plan[k])})`).join(', ')}; resume it with mtlzoo bench --resume ${dir}, or pick another --out`,
      2,
    );
  }
  if ((existing.queue === undefined) !== (plan.queue === undefined)) {
    throw new MtlzooError(
      'USAGE',
      existing.queue === undefined
        ? `${dir} holds a local bench; continue it with mtlzoo bench --resume ${dir}, or pick another --out`
        : `${dir} holds a queued bench (${existing.queue}); watch it with mtlzoo bench status ${dir} --queue URL, or pick another --out`,
      2,
    );
  }
  log.info(`${dir}: continuing the bench started there (finished runs are kept, an interrupted one resumed)`);
}
