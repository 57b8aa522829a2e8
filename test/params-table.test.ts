import { strict as assert } from 'node:assert';
import { facenetSmallBackbone } from '../plugins/backbone/facenet-small.js';
import { tinyBackbone } from '../plugins/backbone/tiny.js';
import { methodPlugins } from '../plugins/method/index.js';
import { Kernel } from '../src/kernel/kernel.js';
import { PluginRegistries } from '../src/plugin/registry.js';
import {
  buildParamsTable,
  formatParamsTable,
  isFailedRow,
  type ParamsCostRow,
  type ParamsRow,
} from '../src/report/params-table.js';
import * as tf from '../src/tf.js';

const registries = () => new Kernel().registries;

/** Every row built; fails the test on a marked one. */
function costs(rows: readonly ParamsRow[]): ParamsCostRow[] {
  return rows.map((row) => {
    assert.ok(!isFailedRow(row), `${row.label} failed: ${isFailedRow(row) ? row.error : ''}`);
    return row;
  });
}

describe('params table', () => {
  it('gives the closed-form costs of every variant on facenet-small at 150 px, 2 tasks', async () => {
    const T = 2;
    const before = tf.memory().numTensors;
    const rows = costs(
      await buildParamsTable({
        backbone: facenetSmallBackbone({ inputSize: 150, embeddingDim: 256 }),
        taskCount: T,
        registries: registries(),
      }),
    );
    assert.equal(tf.memory().numTensors, before, 'every model is disposed');
    const B = 2_953_664; // trainable facenet-small (see backbones.test.ts)
    const state = 2 * (32 + 3 * 64 + 9 * 128 + 256); // BatchNorm moving mean and variance
    // Cross-stitch units after conv0 and the four blocks, one [T, C] row per task.
    const stitches = T * (32 + 64 + 128 + 128 + 128);
    const expected: [string, number, number, number, number][] = [
      // label, shared, per task, stored floats, gallery passes
      ['modulation (vector)', B, 128 + 128 + 256, B + T * 512 + state, T],
      ['modulation (matrix)', B, 128 * 128 * 2 + 256 * 256, B + T * 98_304 + state, T],
      ['shared', B, 0, B + state, 1],
      ['separate', 0, B, T * (B + state), T],
      ['cross-stitch', 0, B + stitches, T * (B + stitches + state), T],
      ['csn', B, 256, B + T * 256 + state, 1],
    ];
    assert.deepEqual(
      rows.map((r) => [r.label, r.sharedParams, r.paramsPerTask, r.bytes / 4, r.galleryPasses]),
      expected,
    );
    for (const r of rows) assert.equal(r.totalParams, r.sharedParams + T * r.paramsPerTask);
    assert.equal(rows[0]!.megabytes, (4 * (B + T * 512 + state)) / 1e6);
  });

  it('formats plain and markdown tables', async () => {
    const rows = await buildParamsTable({
      backbone: tinyBackbone({ inputSize: 16, channels: [4, 8], embeddingDim: 6 }),
      taskCount: 3,
      registries: registries(),
      variants: [
        { label: 'modulation (vector)', method: 'modulation', options: {} },
        { label: 'separate', method: 'separate', options: {} },
      ],
    });
    assert.equal(
      formatParamsTable(rows, 'plain'),
      [
        'method               shared params  params / task  total params    MB  gallery passes',
        'modulation (vector)          1,194             18         1,248  0.01               3',
        'separate                         0          1,194         3,582  0.01               3',
      ].join('\n'),
    );
    assert.equal(
      formatParamsTable(rows, 'markdown').split('\n').slice(0, 3).join('\n'),
      [
        '| method              | shared params | params / task | total params |   MB | gallery passes |',
        '|---------------------|--------------:|--------------:|-------------:|-----:|---------------:|',
        '| modulation (vector) |         1,194 |            18 |        1,248 | 0.01 |              3 |',
      ].join('\n'),
    );
  });

  it('adds a row for every method outside the paper variants, with its defaults', async () => {
    const shared = methodPlugins.find((m) => m.name === 'shared')!;
    const withThirdParty = registries();
    withThirdParty.register({ ...shared, name: 'shared-again' }, 'path:/plugins/shared-again.mjs');
    const rows = costs(
      await buildParamsTable({
        backbone: tinyBackbone({ inputSize: 16, channels: [4, 8], embeddingDim: 6 }),
        taskCount: 3,
        registries: withThirdParty,
      }),
    );
    const added = rows.at(-1)!;
    assert.equal(added.label, 'shared-again');
    assert.equal(added.totalParams, rows.find((r) => r.label === 'shared')!.totalParams);
    assert.equal(rows.length, 7);
  });

  it('marks a variant its plugin refuses or fails to create, and goes on', async () => {
    const shared = methodPlugins.find((m) => m.name === 'shared')!;
    const withBroken = new PluginRegistries();
    withBroken.register(shared, 'builtin');
    withBroken.register(
      {
        ...shared,
        name: 'film',
        create: () => {
          throw new Error('no FiLM for you');
        },
      },
      'path:/plugins/film.mjs',
    );
    const before = tf.memory().numTensors;
    const rows = await buildParamsTable({
      backbone: tinyBackbone({ inputSize: 16, channels: [4, 8], embeddingDim: 6 }),
      taskCount: 2,
      registries: withBroken,
      variants: [
        { label: 'film', method: 'film', options: {} },
        { label: 'shared', method: 'shared', options: {} },
        { label: 'shared (typo)', method: 'shared', options: { head: true } },
      ],
    });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(
      rows.map((r) => (isFailedRow(r) ? r.error : r.totalParams)),
      [
        'method "film" (/plugins/film.mjs): create failed: no FiLM for you',
        1194,
        'method "shared" (built-in): invalid options: (options): Unrecognized key: "head"',
      ],
    );
    const table = formatParamsTable(rows);
    assert.match(table, /^film \(failed\)\s+-\s+-/m);
    assert.match(table, /\n\nfilm: method "film" .*: create failed: no FiLM for you\n/);
  });

  it('names unknown methods and marks invalid variants', async () => {
    const backbone = tinyBackbone({ inputSize: 16, channels: [4, 8], embeddingDim: 6 });
    await assert.rejects(
      buildParamsTable({
        backbone,
        taskCount: 2,
        registries: registries(),
        variants: [{ label: 'x', method: 'modulaton', options: {} }],
      }),
      /unknown method "modulaton" \(did you mean "modulation"\?\)/,
    );
    const [row] = await buildParamsTable({
      backbone,
      taskCount: 2,
      registries: registries(),
      variants: [{ label: 'bad', method: 'modulation', options: { stages: ['res9'] } }],
    });
    assert.ok(row && isFailedRow(row));
    assert.match(
      row.error,
      /stages\[0\]: expected a stage of backbone tiny \(conv1, conv2, embedding\), got "res9"/,
    );
  });
});
