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
    // Stages: conv0 148²×32, block1 73²×64, block2 35²×128, block3 16²×128, block4 7²×128, embedding 256.
    const convChannels = [32, 64, 128, 128, 128];
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const bnChannels = state / 2; // facenet-small's BatchNorm has β only (slim's scale=False)
    // The part from block4 on (what mmoe's experts copy): block4's three convs and β, fc and β.
    const block4 = 9 * 128 * 128 + 2 * 9 * 128 * 128 + 3 * 128;
    const embedding = 7 * 7 * 128 * 256 + 256;
    const upToBlock3 = B - block4 - embedding;
    const stateUpToBlock3 = state - 2 * (3 * 128 + 256);
    const [c, S, H, A, D] = [128, 512, 512, 512, 256];
    const asenV1 = c * S + S + (S + 1) + (2 * c * H + H) + (H * c + c) + (c * D + D);
    const asenV2 = 2 * (A * S + S) + (c * S + S) + 2 * S + ((c + A) * H + H) + (H * c + c) + (c * D + D);
    // mtan: per task and conv stage, 1×1 convs (C or 2C) → C → C and two BatchNorms (γ, β); shared
    // 3×3 conv + BatchNorm (γ, β) from each conv stage to the next.
    const mtanPerTask = sum(convChannels.map((ch, i) => (i === 0 ? ch : 2 * ch) * ch + ch * ch + 4 * ch));
    const mtanShared = sum(convChannels.slice(1).map((ch, i) => 9 * convChannels[i]! * ch + 2 * ch));
    const mtanState = 2 * sum(convChannels.slice(1)) + T * 4 * sum(convChannels);
    const experts = 4;
    expected.push(
      ['asen (v1)', upToBlock3 + asenV1, S + c, upToBlock3 + asenV1 + T * (S + c) + stateUpToBlock3, T],
      ['asen (v2)', upToBlock3 + asenV2, A, upToBlock3 + asenV2 + T * A + stateUpToBlock3 + 2 * S, T],
      // The other built-ins, in name order.
      [
        'adapters',
        B,
        sum(convChannels.map((ch) => ch * ch + 2 * ch)),
        B + T * sum(convChannels.map((ch) => ch * ch + 4 * ch)) + state,
        T,
      ],
      ['film', B, 2 * (128 + 128 + 256), B + T * 1024 + state, T],
      [
        'mmoe',
        upToBlock3 + experts * (block4 + embedding),
        16 * 16 * 128 * experts,
        upToBlock3 +
          experts * (block4 + embedding) +
          T * 16 * 16 * 128 * experts +
          stateUpToBlock3 +
          experts * 2 * (3 * 128 + 256),
        1,
      ],
      ['mtan', B + mtanShared, mtanPerTask, B + mtanShared + T * mtanPerTask + state + mtanState, T],
      ['task-bn', B - bnChannels, bnChannels, B - bnChannels + T * bnChannels + T * state, T],
      ['task-routing', B, 0, B + state + T * sum(convChannels), T],
    );
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
        '',
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
    const added = rows.find((r) => r.label === 'shared-again')!;
    assert.equal(added.method, 'shared-again');
    assert.equal(added.totalParams, rows.find((r) => r.label === 'shared')!.totalParams);
    assert.equal(rows.length, methodPlugins.length + 2 + 1, 'modulation and asen have two rows each');
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
