import { strict as assert } from 'node:assert';
import { facenetSmallBackbone } from '../plugins/backbone/facenet-small.js';
import { tinyBackbone } from '../plugins/backbone/tiny.js';
import { methodPlugins } from '../plugins/method/index.js';
import type { BackboneFactory, MtlModel, ParameterEntry } from '../src/kinds/index.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

const T = 3;
const TINY = { inputSize: 16, channels: [4, 8], embeddingDim: 6 };
const tiny = (): BackboneFactory => tinyBackbone(TINY);
const INFERENCE = { training: false };
const TRAINING = { training: true };

async function create(name: string, options: object, seed = 1, backbone = tiny()): Promise<MtlModel> {
  const plugin = methodPlugins.find((p) => p.name === name)!;
  return plugin.create(plugin.options.parse(options), { backbone, taskCount: T, seed });
}

function images(n: number, seed = 5): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(
    Float32Array.from({ length: n * 16 * 16 * 3 }, () => rng.next()),
    [n, 16, 16, 3],
  );
}

function entry(model: MtlModel, name: string): ParameterEntry {
  const found = model.parameters().find((p) => p.name === name);
  assert.ok(found, `no variable ${name}`);
  return found;
}

/** Copies variables of `from` into the same-named variables of `to`; returns how many it copied. */
function copyWeights(from: MtlModel, to: MtlModel, prefix = ''): number {
  const targets = new Map(to.parameters().map((p) => [p.name, p.variable]));
  let copied = 0;
  for (const p of from.parameters().filter((q) => q.name.startsWith(prefix))) {
    const target = targets.get(p.name);
    if (target) {
      target.assign(p.variable);
      copied++;
    }
  }
  return copied;
}

function randomize(variable: tf.Variable, seed: number): void {
  const rng = new Rng(seed);
  tf.tidy(() =>
    variable.assign(
      tf.tensor(
        Float32Array.from({ length: variable.size }, () => rng.uniform(-1, 2)),
        variable.shape,
      ),
    ),
  );
}

function embed(model: MtlModel, x: tf.Tensor4D, ids: number[], context = INFERENCE): number[][] {
  return tf.tidy(() => model.embed(x, Int32Array.from(ids), context).arraySync());
}

function maxDiff(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));
}

describe('methods', () => {
  const mixed = [2, 0, 1, 0, 2, 1];
  let x: tf.Tensor4D;
  const models: MtlModel[] = [];
  const make = async (name: string, options: object, seed = 1): Promise<MtlModel> => {
    const model = await create(name, options, seed);
    models.push(model);
    return model;
  };
  before(() => {
    x = images(mixed.length);
  });
  after(() => x.dispose());
  afterEach(() => {
    for (const model of models.splice(0)) model.dispose();
  });

  it('modulation with every mask at 1 gives exactly the shared model output (same trunk)', async () => {
    const shared = await make('shared', {}, 1);
    const modulation = await make('modulation', {}, 2);
    assert.ok(maxDiff(embed(shared, x, mixed), embed(modulation, x, mixed)) > 1e-3, 'seeds should differ');
    const trunkSize = shared.parameters().length;
    assert.equal(copyWeights(shared, modulation), trunkSize);
    assert.deepEqual(embed(modulation, x, mixed), embed(shared, x, mixed));
    assert.deepEqual(embed(modulation, x, mixed, TRAINING), embed(shared, x, mixed, TRAINING));
  });

  it("changing one task's mask changes only that task's samples", async () => {
    const model = await make('modulation', {});
    const before = embed(model, x, mixed);
    randomize(entry(model, 'modulation/conv1/task1').variable, 7);
    const after = embed(model, x, mixed);
    mixed.forEach((task, i) => {
      if (task === 1) assert.ok(maxDiff([before[i]!], [after[i]!]) > 1e-4, `sample ${i} (task 1) unchanged`);
      else assert.deepEqual(after[i], before[i], `sample ${i} (task ${task}) changed`);
    });
  });

  const routingCases: [string, object][] = [
    ['modulation', { form: 'vector' }],
    ['modulation', { form: 'matrix' }],
    ['shared', { heads: true }],
    ['separate', {}],
    ['cross-stitch', {}],
    ['csn', { masks: 'learned' }],
    ['csn', { masks: 'fixed' }],
  ];
  for (const [name, options] of routingCases) {
    it(`${name} ${JSON.stringify(options)}: a mixed batch equals each task's samples run alone`, async () => {
      const model = await make(name, options);
      // Task-specific parameters away from their initial values, so tasks really differ.
      model.parameters().forEach((p, i) => {
        if (p.owner !== 'shared' && p.trainable) randomize(p.variable, 100 + i);
      });
      const together = embed(model, x, mixed);
      for (let task = 0; task < T; task++) {
        const members = mixed.flatMap((t, i) => (t === task ? [i] : []));
        const alone = tf.tidy(() =>
          embed(
            model,
            tf.gather(x, members),
            members.map(() => task),
          ),
        );
        const rows = members.map((i) => together[i]!);
        assert.ok(maxDiff(alone, rows) < 1e-5, `task ${task}: ${maxDiff(alone, rows)}`);
      }
      // The tasks' embeddings of one image must differ (csn fixed: disjoint blocks).
      const sameImage = tf.tidy(() => embed(model, tf.tile(tf.slice(x, 0, 1), [T, 1, 1, 1]), [0, 1, 2]));
      assert.ok(maxDiff([sameImage[0]!], [sameImage[1]!]) > 1e-4, 'tasks 0 and 1 agree');
    });
  }

  it('matrix form at identity equals vector form at ones', async () => {
    const vector = await make('modulation', { form: 'vector' }, 1);
    const matrix = await make('modulation', { form: 'matrix' }, 2);
    copyWeights(vector, matrix, 'trunk/');
    assert.deepEqual(entry(matrix, 'modulation/conv2/task2').variable.arraySync(), tf.eye(8).arraySync());
    assert.ok(maxDiff(embed(vector, x, mixed), embed(matrix, x, mixed)) < 1e-6);
    assert.ok(maxDiff(embed(vector, x, mixed, TRAINING), embed(matrix, x, mixed, TRAINING)) < 1e-6);
  });

  it('cross-stitch with identity mixing equals separate nets', async () => {
    const separate = await make('separate', {}, 1);
    const identity = await make('cross-stitch', { init: { same: 1, other: 0 } }, 2);
    const stitched = await make('cross-stitch', {}, 2);
    assert.equal(copyWeights(separate, identity), separate.parameters().length);
    copyWeights(separate, stitched);
    const expected = embed(separate, x, mixed);
    assert.ok(maxDiff(embed(identity, x, mixed), expected) < 1e-6);
    assert.ok(maxDiff(embed(stitched, x, mixed), expected) > 1e-3, 'default 0.9/0.1 mixing should differ');
  });

  describe('parameter counts match closed-form formulas (tiny: 16 px, channels 4/8, D 6, T 3)', () => {
    const [c1, c2, D] = [4, 8, 6];
    const flat = (16 / 4) ** 2 * c2;
    // conv kernels + BatchNorm gamma/beta + linear embedding with bias.
    const B = 3 * 3 * 3 * c1 + 2 * c1 + 3 * 3 * c1 * c2 + 2 * c2 + flat * D + D;
    const state = 2 * (c1 + c2); // BatchNorm moving mean and variance
    const cases: [
      string,
      object,
      { shared: number; perTask: number; passes: number; extraState?: number },
    ][] = [
      ['shared', {}, { shared: B, perTask: 0, passes: 1 }],
      ['shared', { heads: true }, { shared: B, perTask: D * D + D, passes: 1 }],
      ['modulation', {}, { shared: B, perTask: c1 + c2 + D, passes: T }],
      ['modulation', { form: 'matrix' }, { shared: B, perTask: c1 * c1 + c2 * c2 + D * D, passes: T }],
      ['modulation', { stages: ['embedding'] }, { shared: B, perTask: D, passes: 1 }],
      ['separate', {}, { shared: 0, perTask: B, passes: T, extraState: (T - 1) * state }],
      [
        'cross-stitch',
        {},
        { shared: 0, perTask: B + T * c1 + T * c2, passes: T, extraState: (T - 1) * state },
      ],
      [
        'cross-stitch',
        { granularity: 'scalar' },
        { shared: 0, perTask: B + 2 * T, passes: T, extraState: (T - 1) * state },
      ],
      ['csn', { masks: 'learned' }, { shared: B, perTask: D, passes: 1 }],
      ['csn', { masks: 'fixed' }, { shared: B, perTask: 0, passes: 1 }],
      // γ and β at the modulation stages (conv1, conv2, embedding on this two-stage tiny).
      ['film', {}, { shared: B, perTask: 2 * (c1 + c2 + D), passes: T }],
      ['film', { stages: ['embedding'] }, { shared: B, perTask: 2 * D, passes: 1 }],
      // Fixed masks: no trainable task parameters, stored as state.
      ['task-routing', {}, { shared: B, perTask: 0, passes: T, extraState: T * (c1 + c2) }],
      // A C×C 1×1 conv and BatchNorm γ, β per task and stage; the BatchNorm's statistics are state.
      [
        'adapters',
        {},
        { shared: B, perTask: c1 * c1 + 2 * c1 + c2 * c2 + 2 * c2, passes: T, extraState: T * state },
      ],
      // Every BatchNorm's γ and β move to the tasks, its statistics too (the trunk's own are replaced).
      [
        'task-bn',
        {},
        { shared: B - 2 * (c1 + c2), perTask: 2 * (c1 + c2), passes: T, extraState: (T - 1) * state },
      ],
      // Attention modules per task (1×1 convs in → C → C, two BatchNorms); f: 3×3 conv c1 → c2 + BatchNorm.
      [
        'mtan',
        {},
        {
          shared: B + 9 * c1 * c2 + 2 * c2,
          perTask: c1 * c1 + c1 * c1 + 4 * c1 + 2 * c2 * c2 + c2 * c2 + 4 * c2,
          passes: T,
          extraState: 2 * c2 + T * 2 * state,
        },
      ],
    ];
    // mmoe: the experts copy conv2 and the embedding; the shared bottom is conv1 (8×8×c1 at 16 px).
    const expert = 9 * c1 * c2 + 2 * c2 + flat * D + D;
    const bottom = 3 * 3 * 3 * c1 + 2 * c1;
    for (const [experts, gateInput, gateFeatures] of [
      [4, 'flatten', 8 * 8 * c1],
      [2, 'pool', c1],
    ] as const) {
      cases.push([
        'mmoe',
        { experts, gateInput },
        {
          shared: bottom + experts * expert,
          perTask: gateFeatures * experts,
          passes: 1,
          extraState: (experts - 1) * 2 * c2,
        },
      ]);
    }
    for (const [name, options, want] of cases) {
      it(`${name} ${JSON.stringify(options)}`, async () => {
        const report = (await make(name, options)).report();
        const total = want.shared + T * want.perTask;
        assert.deepEqual(report, {
          sharedParams: want.shared,
          paramsPerTask: want.perTask,
          totalParams: total,
          bytes: 4 * (total + state + (want.extraState ?? 0)),
          galleryPasses: want.passes,
        });
      });
    }
  });

  it('gradients reach masks, trunks and mixing units with the right shapes; absent tasks get none', async () => {
    const modulation = await make('modulation', {});
    const stitch = await make('cross-stitch', {});
    const onlyTasks01 = [0, 1, 1, 0];
    const xs = tf.slice(x, 0, 4);
    for (const model of [modulation, stitch]) {
      const trainable = model.parameters().filter((p) => p.trainable);
      const grads = tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.square(model.embed(xs, Int32Array.from(onlyTasks01), TRAINING))) as tf.Scalar,
          trainable.map((p) => p.variable),
        );
        return Object.fromEntries(trainable.map((p) => [p.name, grads[p.variable.name]!]));
      });
      const norm = (name: string) => tf.tidy(() => tf.max(tf.abs(grads[name]!)).dataSync()[0]!);
      const shape = (name: string) => grads[name]!.shape;
      if (model === modulation) {
        assert.deepEqual(shape('modulation/conv2/task1'), [8]);
        assert.deepEqual(shape('modulation/embedding/task0'), [6]);
        for (const name of [
          'modulation/conv2/task1',
          'modulation/embedding/task0',
          'trunk/conv1/conv/kernel',
        ]) {
          assert.ok(norm(name) > 0, `no gradient for ${name}`);
        }
        assert.equal(norm('modulation/conv2/task2'), 0, 'task 2 is not in the batch');
      } else {
        assert.deepEqual(shape('cross-stitch/conv1/task0'), [T, 4]);
        assert.deepEqual(shape('task1/conv2/conv/kernel'), [3, 3, 4, 8]);
        // Column 2 still feeds tasks 0 and 1 through the mixing units, so its trunk learns too.
        for (const name of [
          'cross-stitch/conv1/task0',
          'cross-stitch/conv2/task1',
          'task2/conv1/conv/kernel',
        ]) {
          assert.ok(norm(name) > 0, `no gradient for ${name}`);
        }
        assert.equal(norm('cross-stitch/conv2/task2'), 0, 'row 2 only feeds task 2, absent from the batch');
      }
      tf.dispose(Object.values(grads));
    }
    xs.dispose();
  });

  it('film with ReLU(γ) and β = 0 is the modulation module; β then moves only its own task', async () => {
    const modulation = await make('modulation', {}, 1);
    const film = await make('film', { scale: 'relu' }, 2);
    assert.equal(copyWeights(modulation, film, 'trunk/'), modulation.parameters().length - 3 * T);
    for (const stage of ['conv1', 'conv2', 'embedding']) {
      for (let t = 0; t < T; t++) {
        randomize(entry(modulation, `modulation/${stage}/task${t}`).variable, 10 * t + stage.length);
        entry(film, `film/${stage}/gamma/task${t}`).variable.assign(
          entry(modulation, `modulation/${stage}/task${t}`).variable,
        );
      }
    }
    // Exactly equal (adding β = 0 turns a −0 into +0, so compare differences).
    assert.equal(maxDiff(embed(film, x, mixed), embed(modulation, x, mixed)), 0);
    randomize(entry(film, 'film/conv2/beta/task1').variable, 3);
    const shifted = embed(film, x, mixed);
    const reference = embed(modulation, x, mixed);
    mixed.forEach((task, i) => {
      if (task === 1) assert.ok(maxDiff([shifted[i]!], [reference[i]!]) > 1e-4, `sample ${i} unchanged`);
      else assert.equal(maxDiff([shifted[i]!], [reference[i]!]), 0, `sample ${i} (task ${task}) changed`);
    });
  });

  it('adapters with zero 1×1 convs are the shared model, in training too', async () => {
    const shared = await make('shared', {}, 1);
    const adapters = await make('adapters', {}, 2);
    copyWeights(shared, adapters, 'trunk/');
    for (const p of adapters.parameters().filter((q) => q.name.endsWith('/kernel') && q.owner !== 'shared')) {
      p.variable.assign(tf.zerosLike(p.variable));
    }
    assert.deepEqual(embed(adapters, x, mixed), embed(shared, x, mixed));
    assert.deepEqual(embed(adapters, x, mixed, TRAINING), embed(shared, x, mixed, TRAINING));
  });

  it("task-bn normalises each task's samples with that task's batch statistics", async () => {
    const shared = await make('shared', {}, 1);
    const taskBn = await make('task-bn', {}, 1);
    // Same seed and scope: the convolutions agree; the shared model then runs each task's samples alone.
    const together = embed(taskBn, x, mixed, TRAINING);
    for (let task = 0; task < T; task++) {
      const members = mixed.flatMap((t, i) => (t === task ? [i] : []));
      const alone = tf.tidy(() =>
        embed(
          shared,
          tf.gather(x, members),
          members.map(() => task),
          TRAINING,
        ),
      );
      assert.ok(
        maxDiff(
          alone,
          members.map((i) => together[i]!),
        ) < 1e-5,
        `task ${task}`,
      );
    }
    // Each task's moving statistics moved with its own samples only.
    const mean = (t: number) => entry(taskBn, `task-bn/conv1/bn/task${t}/moving_mean`).variable.dataSync();
    assert.notDeepEqual(mean(0), mean(1));
    assert.ok(mean(2).some((v) => v !== 0));
  });

  it('mmoe with uniform gates over identical experts is the shared model', async () => {
    const shared = await make('shared', {}, 1);
    const mmoe = await make('mmoe', { experts: 3 }, 2);
    const trunk = new Map(shared.parameters().map((p) => [p.name.slice('trunk/'.length), p.variable]));
    for (const p of mmoe.parameters()) {
      if (p.name.startsWith('mmoe/gate/')) p.variable.assign(tf.zerosLike(p.variable));
      else p.variable.assign(trunk.get(p.name.slice(p.name.indexOf('/') + 1))!);
    }
    assert.ok(maxDiff(embed(mmoe, x, mixed), embed(shared, x, mixed)) < 1e-6);
    randomize(entry(mmoe, 'mmoe/gate/task0').variable, 4);
    assert.ok(maxDiff(embed(mmoe, x, mixed), embed(shared, x, mixed)) < 1e-6, 'identical experts: any mix');
  });

  it('task-routing switches off ⌊σ·C⌋ random channels per task and stage, reproducibly', async () => {
    const model = await make('task-routing', { sigma: 0.5 }, 1);
    const again = await make('task-routing', { sigma: 0.5 }, 1);
    const other = await make('task-routing', { sigma: 0.5 }, 2);
    const masks = (m: MtlModel, stage: string) =>
      Array.from({ length: T }, (_, t) =>
        Array.from(entry(m, `task-routing/${stage}/task${t}`).variable.dataSync()),
      );
    for (const [stage, c] of [
      ['conv1', 4],
      ['conv2', 8],
    ] as const) {
      const ours = masks(model, stage);
      for (const mask of ours) assert.equal(mask.filter((v) => v === 0).length, Math.floor(c / 2));
      assert.deepEqual(masks(again, stage), ours, 'same seed, same masks');
      assert.ok(new Set(ours.map(String)).size > 1, 'tasks share one mask');
      assert.notDeepEqual(masks(other, stage), ours, 'another seed, other masks');
    }
    assert.ok(model.parameters().every((p) => p.owner === 'shared' || !p.trainable));
  });

  it("gradients of a batch without task 2 reach the shared weights but none of task 2's", async () => {
    const onlyTasks01 = [0, 1, 1, 0];
    const xs = tf.slice(x, 0, 4);
    for (const [name, options] of [
      ['film', {}],
      ['adapters', {}],
      ['task-bn', {}],
      ['mtan', {}],
      ['mmoe', {}],
      ['asen', { version: 2, spatialWidth: 8, channelWidth: 8, attributeWidth: 4 }],
    ] as const) {
      const model = await make(name, options);
      const trainable = model.parameters().filter((p) => p.trainable);
      const norms = tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.square(model.embed(xs, Int32Array.from(onlyTasks01), TRAINING))) as tf.Scalar,
          trainable.map((p) => p.variable),
        );
        return trainable.map((p) => {
          const g = grads[p.variable.name];
          return g ? tf.max(tf.abs(g)).dataSync()[0]! : 0;
        });
      });
      trainable.forEach((p, i) => {
        if (p.owner !== 'shared' && p.owner.task === 2) assert.equal(norms[i], 0, `${name}: ${p.name}`);
      });
      assert.ok(
        trainable.some((p, i) => p.owner === 'shared' && norms[i]! > 0),
        `${name}: no shared gradient`,
      );
    }
    xs.dispose();
  });

  it('does not grow the tensor count over 50 training steps', async () => {
    const model = await make('modulation', {});
    const ids = Int32Array.from(mixed);
    const targets = tf.tidy(() => tf.mul(tf.ones([mixed.length, 6]), 0.5));
    const optimizer = tf.train.sgd(0.05);
    const varList = model.parameters().flatMap((p) => (p.trainable ? [p.variable] : []));
    const step = () =>
      tf.tidy(() => {
        const loss = optimizer.minimize(
          () => tf.mean(tf.square(tf.sub(model.embed(x, ids, TRAINING), targets))) as tf.Scalar,
          true,
          varList,
        );
        return loss!.dataSync()[0]!;
      });
    const first = step();
    const count = tf.memory().numTensors;
    let last = first;
    for (let i = 1; i < 50; i++) last = step();
    assert.equal(tf.memory().numTensors, count);
    assert.ok(Number.isFinite(last) && last < first, `loss ${first} -> ${last}`);
    optimizer.dispose();
    targets.dispose();
  });

  it('check() names the unknown stage and lists the backbone stages', () => {
    const modulation = methodPlugins.find((p) => p.name === 'modulation')!;
    const backbone = facenetSmallBackbone({ inputSize: 150, embeddingDim: 256 }).description;
    const options = modulation.options.parse({ stages: ['block4', 'res9'] });
    assert.deepEqual(modulation.check!(options, { backbone }), [
      {
        path: ['stages', 1],
        message:
          'expected a stage of backbone facenet-small (conv0, block1, block2, block3, block4, embedding), got "res9"',
      },
    ]);
    assert.deepEqual(modulation.check!(modulation.options.parse({}), { backbone }), []);
    assert.deepEqual(modulation.check!(options, {}), [], 'no backbone: nothing to check against');
  });
});
