import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runConfigText, type BenchResults } from '../src/bench/bench.js';
import { planOf } from '../src/bench/plan.js';
import { loadRecipe } from '../src/bench/recipe.js';
import { benchRows } from '../src/bench/runs.js';
import { Kernel } from '../src/kernel/kernel.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { tempDir, writeFiles } from './helpers/files.js';

const ZOO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'zoo');

describe('zoo entries', () => {
  let workspace: ReturnType<typeof tempDir>;
  before(() => {
    workspace = tempDir();
  });
  after(() => workspace.cleanup());

  // An entry's results, the interim results (`bench collect --interim`) of one still being recorded, and
  // rows re-run by later code beside the recorded ones.
  const recorded = readdirSync(ZOO).flatMap((entry) =>
    ['results.json', 'interim/results.json', 'rerun/results.json']
      .filter((file) => existsSync(path.join(ZOO, entry, file)))
      .map((file) => ({ entry, file })),
  );
  for (const { entry, file: resultsFile } of recorded) {
    it(`${entry}: the ${resultsFile === 'results.json' ? 'recorded' : path.dirname(resultsFile)} results belong to the configs the recipe gives today`, async () => {
      const loaded = await loadRecipe(path.join(ZOO, entry));
      const results = JSON.parse(readFileSync(path.join(ZOO, entry, resultsFile), 'utf8')) as BenchResults;
      const kernel = new Kernel({ logger: createMemoryLogger() });
      const base = await kernel.loadConfig(loaded.configFile);
      const steps = results.steps === base.config.train.steps ? undefined : results.steps;
      // Rows as the recipe gives them today: a row per method, and per grid point when it has a grid.
      const rows = benchRows(loaded, planOf(loaded, {}));
      for (const row of results.rows) {
        const recipeRow = rows.find((r) => r.label === row.label);
        assert.ok(recipeRow, `${row.label} is no longer in the recipe`);
        for (const [i, seed] of row.seeds.entries()) {
          const file = path.join(workspace.dir, entry, `recorded-${row.label}-${seed}.yaml`);
          writeFiles(path.dirname(file), {
            [path.basename(file)]: runConfigText(loaded, recipeRow, seed, steps, recipeRow.point),
          });
          // A changed config, default or plugin option would change the hash: re-record the entry then.
          assert.equal(
            (await kernel.loadConfig(file)).hash,
            row.configHashes[i],
            `${row.label}, seed ${seed}`,
          );
        }
      }
    });
  }

  for (const entry of readdirSync(ZOO)) {
    it(`${entry}: the recipe and every method's config validate`, async () => {
      const loaded = await loadRecipe(path.join(ZOO, entry));
      const kernel = new Kernel({ logger: createMemoryLogger() });
      for (const row of loaded.recipe.methods) {
        const file = path.join(workspace.dir, entry, `${row.label}.yaml`);
        writeFiles(path.dirname(file), {
          [path.basename(file)]: runConfigText(loaded, row, loaded.recipe.seeds[0]!),
        });
        const config = (await kernel.loadConfig(file)).config;
        const name = (ref: string | { name: string }) => (typeof ref === 'string' ? ref : ref.name);
        assert.equal(config.method.name, name(row.method));
        assert.equal(config.train.weighting.name, row.weighting ? name(row.weighting) : 'equal');
      }
    });
  }

  it('relatedness-*: the knob levels run one experiment that differs only by ρ, from 0 to 1, on ≥ 3 seeds', async () => {
    const entries = readdirSync(ZOO).filter((e) => e.startsWith('relatedness-'));
    const kernel = new Kernel({ logger: createMemoryLogger() });
    const levels = await Promise.all(
      entries.map(async (entry) => {
        const loaded = await loadRecipe(path.join(ZOO, entry));
        const { config } = await kernel.loadConfig(loaded.configFile);
        const options = config.dataset.options as { relatedness?: number };
        assert.ok(loaded.recipe.seeds.length >= 3, `${entry}: ${loaded.recipe.seeds.length} seeds`);
        assert.equal(entry, `relatedness-${options.relatedness}`, 'the entry is named by its level');
        const { relatedness: _level, ...rest } = options;
        return {
          recipe: loaded.recipe,
          level: options.relatedness!,
          rest: { ...config, seed: 0, dataset: { ...config.dataset, options: rest } },
        };
      }),
    );
    const knob = levels.map((l) => l.level).sort((a, b) => a - b);
    assert.ok(knob.length >= 3 && knob[0] === 0 && knob[knob.length - 1] === 1, `levels ${knob.join(', ')}`);
    for (const level of levels.slice(1)) {
      assert.deepEqual(
        level.rest,
        levels[0]!.rest,
        `ρ = ${level.level} differs from ρ = ${levels[0]!.level} by more than ρ`,
      );
      const { description: _a, ...recipe } = level.recipe;
      const { description: _b, ...first } = levels[0]!.recipe;
      assert.deepEqual(
        recipe,
        { ...first, config: recipe.config },
        'the same methods, seeds and baseline at every level',
      );
    }
    for (const label of ['modulation', 'shared', 'separate', 'cross-stitch', 'csn']) {
      assert.ok(
        levels[0]!.recipe.methods.some((m) => m.label === label),
        `${label} is compared`,
      );
    }
  });
});
