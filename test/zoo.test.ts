import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runConfigText } from '../src/bench/bench.js';
import { loadRecipe } from '../src/bench/recipe.js';
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

  for (const entry of readdirSync(ZOO)) {
    it(`${entry}: the recipe and every method's config validate`, async () => {
      const loaded = await loadRecipe(path.join(ZOO, entry));
      const kernel = new Kernel({ logger: createMemoryLogger() });
      for (const { label, method } of loaded.recipe.methods) {
        const file = path.join(workspace.dir, entry, `${label}.yaml`);
        writeFiles(path.dirname(file), {
          [path.basename(file)]: runConfigText(loaded, method, loaded.recipe.seeds[0]!),
        });
        const config = (await kernel.loadConfig(file)).config;
        assert.equal(config.method.name, typeof method === 'string' ? method : method.name);
      }
    });
  }
});
