/**
 * `npm run bench:weighting [-- --steps N] [-- --methods shared,modulation] [-- --json]`
 *
 * Time per training step of every weighting strategy on the quickstart config (configs/quickstart.yaml:
 * tiny backbone at 32 px, four tasks, eight triplets per task), for each method, with the ratio to equal
 * weighting measured in the same process, and the training time `zoo/strategies` would take from them
 * (its rows × seeds × 300 steps; evaluation comes on top, as in every recipe). The first steps of each run
 * are warm-up and excluded (the summary's msPerStep). With --json the last line is the results as JSON.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { weightingPlugins } from '../plugins/weighting/index.js';
import { loadRecipe } from '../src/bench/recipe.js';
import { trainRun } from '../src/engine/run.js';
import { Kernel } from '../src/kernel/kernel.js';
import { createMemoryLogger } from '../src/util/logger.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '12' },
    methods: { type: 'string', default: 'shared,modulation' },
    json: { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps);
const methods = values.methods.split(',');
const dir = mkdtempSync(path.join(os.tmpdir(), 'mtlzoo-bench-weighting-'));
const results: { method: string; weighting: string; msPerStep: number; ratio: number; backend: string }[] =
  [];
try {
  for (const method of methods) {
    let equal = Number.NaN;
    for (const { name } of weightingPlugins) {
      const file = path.join(dir, `${method}-${name}.yaml`);
      writeFileSync(
        file,
        [
          `extends: ${path.join(ROOT, 'configs', 'quickstart.yaml')}`,
          `method: ${method}`,
          'evaluators: [{ name: triplet-accuracy, options: { tripletsPerTask: 20 } }]',
          `train: { steps: ${steps}, weighting: ${name}, logEvery: ${steps}, probe: { every: 0 } }`,
          `output: { cacheDir: ${path.join(ROOT, '.cache', 'mtlzoo')} }`,
          '',
        ].join('\n'),
      );
      const kernel = new Kernel({ logger: createMemoryLogger() });
      const loaded = await kernel.loadConfig(file);
      const summary = await trainRun(kernel, loaded, { outputDir: dir, name: `${method}-${name}` });
      const ms = summary.timing.msPerStep;
      if (name === 'equal') equal = ms;
      results.push({
        method,
        weighting: name,
        msPerStep: ms,
        ratio: ms / equal,
        backend: summary.environment.backend,
      });
      console.log(
        `${method.padEnd(11)} ${name.padEnd(12)} ${ms.toFixed(1).padStart(8)} ms/step  ×${(ms / equal).toFixed(2)}  (${summary.environment.backend})`,
      );
    }
  }
  // zoo/strategies: its rows (method + weighting, equal when unset) × seeds × its steps.
  const recipe = await loadRecipe(path.join(ROOT, 'zoo', 'strategies'));
  const recipeSteps = 300;
  const rowMs = recipe.recipe.methods.map((row) => {
    const name = (r: string | { name: string }) => (typeof r === 'string' ? r : r.name);
    const weighting = row.weighting ? name(row.weighting) : 'equal';
    const method = name(row.method);
    const measured =
      results.find((r) => r.method === method && r.weighting === weighting) ??
      // A method not measured here (the separate baseline) is costed as the shared one with equal weighting.
      results.find((r) => r.weighting === weighting && r.method === methods[0]);
    return measured?.msPerStep ?? Number.NaN;
  });
  const totalMinutes = (rowMs.reduce((a, b) => a + b, 0) * recipe.recipe.seeds.length * recipeSteps) / 60_000;
  console.log(
    `zoo/strategies: ${recipe.recipe.methods.length} rows × ${recipe.recipe.seeds.length} seeds × ${recipeSteps} steps ≈ ${totalMinutes.toFixed(0)} min of training (evaluation on top)`,
  );
  if (values.json) console.log(JSON.stringify({ results, strategiesTrainingMinutes: totalMinutes }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
