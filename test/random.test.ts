import { strict as assert } from 'node:assert';
import { Rng } from '../src/util/random.js';

describe('Rng', () => {
  it('reproduces a stream from its seed and separates derived streams', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const drawsA = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(
      drawsA,
      Array.from({ length: 5 }, () => b.next()),
    );
    assert.notEqual(Rng.derive(7, 'weights').next(), Rng.derive(7, 'data').next());
  });

  it('draws normals with mean 0 and variance 1 and uniform integers in range', () => {
    const rng = new Rng(1);
    const n = 20000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const v = rng.normal();
      sum += v;
      sumSq += v * v;
    }
    assert.ok(Math.abs(sum / n) < 0.03, `mean ${sum / n}`);
    assert.ok(Math.abs(sumSq / n - 1) < 0.05, `variance ${sumSq / n}`);
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 4000; i++) counts[rng.int(4)]! += 1;
    for (const c of counts) assert.ok(c > 900 && c < 1100, `counts ${counts.join(',')}`);
  });
});
