/** `train.weighting` in configs: a plugin reference like every kind's, old configs still valid and hashed the same. */
import { strict as assert } from 'node:assert';
import { ConfigError } from '../src/errors.js';
import { tempDir } from './helpers/files.js';
import { loadSmall, smallConfig } from './helpers/experiment.js';

describe('train.weighting', () => {
  let workspace: ReturnType<typeof tempDir>;
  beforeEach(() => {
    workspace = tempDir();
  });
  afterEach(() => workspace.cleanup());

  const load = (extra: string) => loadSmall(workspace.dir, smallConfig({ extra }));

  it('takes a bare name or { name, options }, fills the defaults, and defaults to equal', async () => {
    const bare = await load('  weighting: cagrad\n');
    assert.deepEqual(bare.loaded.config.train.weighting, {
      name: 'cagrad',
      options: { calpha: 0.5, rescale: 1 },
    });
    const full = await load('  weighting: { name: cagrad, options: { calpha: 0.2 } }\n');
    assert.deepEqual(full.loaded.config.train.weighting.options, { calpha: 0.2, rescale: 1 });
    assert.notEqual(full.loaded.hash, bare.loaded.hash);
    const none = await load('');
    assert.deepEqual(none.loaded.config.train.weighting, { name: 'equal', options: {} });
    // The form configs had before weighting was a plugin kind: valid, and the same experiment.
    const old = await load('  weighting: { name: equal }\n');
    assert.equal(old.loaded.hash, none.loaded.hash);
  });

  it('names the key, the known strategies and the option at fault', async () => {
    const unknown = await load('  weighting: pcgrd\n').catch((e: unknown) => e);
    assert.ok(unknown instanceof ConfigError);
    assert.match(
      unknown.message,
      /train\.weighting\.name: unknown weighting "pcgrd".*did you mean "pcgrad"/s,
    );
    const option = await load('  weighting: { name: cagrad, options: { calpha: -1 } }\n').catch(
      (e: unknown) => e,
    );
    assert.ok(option instanceof ConfigError);
    assert.match(option.message, /train\.weighting\.options\.calpha: .*>=0/);
    const key = await load('  weighting: { name: dwa, options: { temprature: 3 } }\n').catch(
      (e: unknown) => e,
    );
    assert.match(
      String(key),
      /train\.weighting\.options\.temprature: unknown key \(did you mean "temperature"\?\)/,
    );
  });
});
