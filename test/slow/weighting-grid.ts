/**
 * `npm run test:weighting-grid`: every weighting strategy × every method in the registries trains 20 steps
 * with finite losses and a flat tensor count (issue 18's grid; `npm test` runs a slice of it).
 */
import { weightingPlugins } from '../../plugins/weighting/index.js';
import { methodPlugins } from '../../plugins/method/index.js';
import { tempDir } from '../helpers/files.js';
import { checkTraining, trainWith } from '../helpers/weighting.js';

describe('every weighting strategy × every architecture', function () {
  this.timeout(3_600_000);
  let workspace: ReturnType<typeof tempDir>;
  before(() => {
    workspace = tempDir();
  });
  after(() => workspace.cleanup());

  for (const method of methodPlugins.map((p) => p.name)) {
    for (const weighting of weightingPlugins.map((p) => p.name)) {
      it(`${weighting} on ${method}`, async () => {
        const { records, tensors } = await trainWith(workspace.dir, method, weighting);
        checkTraining(records, tensors, `${method} × ${weighting}`);
      });
    }
  }
});
