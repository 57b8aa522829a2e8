import { strict as assert } from 'node:assert';
import { lossPlugins } from '../plugins/loss/index.js';
import type { AnyPluginOf, TripletLossFunction } from '../src/kinds/index.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

function plugin(name: string): AnyPluginOf<'loss'> {
  const found = lossPlugins.find((p) => p.name === name);
  assert.ok(found, `loss ${name} is registered`);
  return found;
}

async function create(name: string, options: unknown = {}): Promise<TripletLossFunction> {
  const p = plugin(name);
  return p.create(p.options.parse(options), {});
}

/** Rows of unit length, as the engine hands them to losses. */
function unitRows(rng: Rng, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => {
    const row = Array.from({ length: d }, () => rng.normal());
    const norm = Math.hypot(...row);
    return row.map((v) => v / norm);
  });
}

function squared(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

const rows = [
  { name: 'triplet', distance: squared },
  { name: 'margin-ranking', distance: (a: number[], b: number[]) => Math.sqrt(squared(a, b)) },
];

describe('losses', () => {
  for (const { name, distance } of rows) {
    it(`${name}: matches a plain loop, with default margin 0.2 and a configured one`, async () => {
      const rng = new Rng(name.length);
      const [a, p, n] = [0, 1, 2].map(() => unitRows(rng, 9, 6)) as [number[][], number[][], number[][]];
      for (const margin of [undefined, 0.5]) {
        const loss = await create(name, margin === undefined ? {} : { margin });
        const m = margin ?? 0.2;
        const expected = a.map((_, i) => Math.max(0, distance(a[i]!, p[i]!) - distance(a[i]!, n[i]!) + m));
        const [ta, tp, tn] = [a, p, n].map((x) => tf.tensor2d(x)) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const values = loss.compute(ta, tp, tn);
        const d = loss.distance(ta, tp);
        assert.deepEqual(values.shape, [9]);
        (await values.data()).forEach((v, i) =>
          assert.ok(Math.abs(v - expected[i]!) < 1e-5, `${v} ${expected[i]}`),
        );
        (await d.data()).forEach((v, i) => assert.ok(Math.abs(v - distance(a[i]!, p[i]!)) < 1e-5));
        tf.dispose([ta, tp, tn, values, d]);
        assert.ok(
          expected.some((v) => v > 0) && expected.some((v) => v === 0),
          'both hinge branches exercised',
        );
      }
    });
  }

  it('options are strict', () => {
    assert.throws(() => plugin('triplet').options.parse({ margin: 0.2, distance: 'l1' }));
    assert.throws(() => plugin('margin-ranking').options.parse({ margin: -1 }));
  });

  it('margin-ranking has a finite gradient when the positive equals the anchor', async () => {
    const loss = await create('margin-ranking');
    const a = tf.tensor2d([[0.6, 0.8]]);
    const n = tf.tensor2d([[1, 0]]);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(loss.compute(a, x as tf.Tensor2D, n)));
    const g = grad(a.clone());
    assert.ok([...(await g.data())].every(Number.isFinite));
    tf.dispose([a, n, g]);
  });

  it('leave no tensors behind across repeated calls and gradients', async () => {
    for (const { name } of rows) {
      const loss = await create(name);
      const rng = new Rng(1);
      const [a, p, n] = [0, 1, 2].map(() => tf.tensor2d(unitRows(rng, 4, 3))) as [
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
      ];
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) {
        const { value, grads } = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
          tf.mean(loss.compute(x as tf.Tensor2D, y as tf.Tensor2D, z as tf.Tensor2D)),
        )([a, p, n]);
        tf.dispose([value, ...grads, loss.distance(a, n)]);
      }
      assert.equal(tf.memory().numTensors, before, name);
      tf.dispose([a, p, n]);
    }
  });
});
