/**
 * The native pack's safety: every offset and length it receives is checked against the heap before use, op
 * codes are range-checked, and a bad call throws a JavaScript error; and the pack is refused when the
 * installed tfjs is not the version it was written against. Calls go to the addon directly, on a heap of
 * our own. The checks of the pack need it built (skipped with the reason otherwise); the version guard does not.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  nativePack,
  nativePackUnavailableReason,
  TESTED_TFJS_VERSION,
  versionMismatch,
} from '../src/backend/wasm-native.js';
import { loadNativeAddon } from '../src/util/native-addon.js';

describe('native pack: version guard', function () {
  it('package.json pins every @tensorflow/tfjs* package to the tested version exactly', function () {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    const pins = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'].flatMap(
      (field) =>
        Object.entries(manifest[field] ?? {}).filter(([name]) => name.startsWith('@tensorflow/tfjs')),
    );
    assert.ok(pins.some(([name]) => name === '@tensorflow/tfjs-backend-wasm'));
    for (const [name, range] of pins) assert.equal(range, TESTED_TFJS_VERSION, name);
  });

  it('refuses an addon built from older sources, naming the entry points it lacks and the rebuild command', function () {
    // A stand-in module where the build puts addons: it has conv but not batchNorm, as a stale build would.
    const release = new URL('../native/build/Release/', import.meta.url);
    mkdirSync(release, { recursive: true });
    const file = `stale-test-${process.pid}.cjs`;
    const stale = new URL(file, release);
    writeFileSync(stale, 'module.exports = { conv() {}, batchNorm: 1 };\n');
    try {
      const state = loadNativeAddon<{ conv(): void; batchNorm(): void }>(file, ['conv', 'batchNorm']);
      assert.ok('reason' in state, 'the stale addon is refused');
      assert.match(
        state.reason,
        new RegExp(`${file} is stale .*lacks batchNorm\\); rebuild it with npm run build:native`),
      );
      const fresh = loadNativeAddon<{ conv(): void }>(file, ['conv']);
      assert.ok('addon' in fresh && typeof fresh.addon.conv === 'function');
    } finally {
      rmSync(stale, { force: true });
    }
  });

  it('refuses another tfjs version with a reason that names it, and accepts the tested one', function () {
    const tested = {
      '@tensorflow/tfjs-core': TESTED_TFJS_VERSION,
      '@tensorflow/tfjs-backend-wasm': TESTED_TFJS_VERSION,
    };
    assert.equal(versionMismatch(tested), undefined);
    const reason = versionMismatch({ ...tested, '@tensorflow/tfjs-backend-wasm': '4.23.0' });
    assert.match(reason ?? '', /tested with tfjs 4\.22\.0, found @tensorflow\/tfjs-backend-wasm 4\.23\.0/);
    assert.doesNotMatch(reason ?? '', /tfjs-core/);
  });

  it('is what the loaded pack was checked against here', function () {
    // Whatever the state, the reason is one line; where the pack is in use the installed tfjs passed the guard.
    const reason = nativePackUnavailableReason();
    if (reason === undefined) assert.ok(nativePack());
    else assert.doesNotMatch(reason, /\n/);
  });
});

const unavailable = nativePackUnavailableReason();

describe(`native pack: argument checks${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, function () {
  const HEAP_BYTES = 4096;
  let heap: ArrayBuffer;
  let f32: Float32Array;

  before(function () {
    if (unavailable !== undefined) this.skip();
  });

  beforeEach(function () {
    heap = new ArrayBuffer(HEAP_BYTES);
    f32 = new Float32Array(heap);
  });

  const pack = () => nativePack()!;
  const untouched = () =>
    assert.ok(
      f32.every((v) => v === 0 || v === 1),
      'the heap was written',
    );

  it('computes a valid call (so that the checks below reject only what is out of bounds)', function () {
    f32.set([-1, 2, -3, 4]);
    pack().unary(0, heap, 0, 64, 4, 0);
    assert.deepEqual(Array.from(f32.subarray(16, 20)), [0, 2, 0, 4]);
    // The last float of the heap is in bounds.
    pack().unary(2, heap, 0, HEAP_BYTES - 4, 1, 0);
    assert.equal(f32[HEAP_BYTES / 4 - 1], 1);
  });

  it('rejects offsets and lengths that leave the heap, negative or misaligned offsets, and bad sizes', function () {
    const p = pack();
    const cases: [string, () => void, RegExp][] = [
      [
        'output past the end',
        () => p.unary(0, heap, 0, HEAP_BYTES - 4, 2, 0),
        /do not lie inside the heap of 4096 bytes/,
      ],
      ['input past the end', () => p.unary(0, heap, HEAP_BYTES, 0, 1, 0), /do not lie inside the heap/],
      ['huge offset', () => p.repeat(heap, 2 ** 39, 0, 4, 1), /do not lie inside the heap/],
      ['negative offset', () => p.unary(0, heap, -4, 0, 1, 0), /argument 2 must be a whole number/],
      ['misaligned offset', () => p.unary(0, heap, 2, 16, 1, 0), /do not lie inside the heap/],
      ['fractional size', () => p.unary(0, heap, 0, 16, 1.5, 0), /argument 4 must be a whole number/],
      ['NaN size', () => p.sumRows(heap, 0, 16, NaN, 2, 1), /argument 3 must be a whole number/],
      ['rows × cols past the end', () => p.sumRows(heap, 0, 0, 1000, 2, 1), /do not lie inside the heap/],
      ['overflowing product', () => p.sumRows(heap, 0, 0, 2 ** 40, 2 ** 40, 1), /exceeds 2\^40/],
      [
        'binary small operand past the end',
        () => p.binary(0, heap, 0, HEAP_BYTES - 8, 64, 4, 4, 0),
        /argument 3/,
      ],
      ['zero period', () => p.repeat(heap, 0, 16, 4, 0), /argument 4 must be a whole number in \[1/],
      [
        'not a heap',
        () => p.unary(0, new Float32Array(4) as unknown as ArrayBuffer, 0, 0, 1, 0),
        /must be the wasm heap/,
      ],
      [
        'missing argument',
        () => (p.repeat as (...a: unknown[]) => void)(heap, 0, 16, 4),
        /expected 5 arguments, got 4/,
      ],
      [
        'Adam correction past the end',
        () => p.adamUpdate(heap, 0, 0, 0, 0, HEAP_BYTES - 4, 64, 64, 64, 4, 0.1, 0.9, 0.999, 1e-8),
        /argument 5: 2 floats/,
      ],
      [
        'max-pool input past the end',
        () => p.maxPool(heap, 0, 0, 2, 9, 9, 8, 9, 9, 1, 1, 1, 1, 0, 0),
        /do not lie inside the heap/,
      ],
      [
        'max-pool gradient output past the end',
        () => p.maxPoolGrad(heap, 0, 0, HEAP_BYTES - 16, 1, 2, 2, 2, 1, 1, 2, 2, 1, 1, 0, 0),
        /argument 3/,
      ],
    ];
    for (const [what, call, message] of cases) {
      assert.throws(call, message, what);
      untouched();
    }
  });

  it('range-checks operation codes', function () {
    const p = pack();
    assert.throws(() => p.unary(3, heap, 0, 16, 1, 0), /unary: operation code 3 is not in \[0, 3\)/);
    assert.throws(() => p.binary(4, heap, 0, 16, 32, 1, 1, 0), /binary: operation code 4 is not in \[0, 4\)/);
    assert.throws(() => p.binary(0, heap, 0, 16, 32, 1, 1, 2), /operation code 2 is not in \[0, 2\)/);
    assert.throws(() => p.conv(3, heap, 0, 0, 0, new Int32Array(18)), /conv: operation code 3/);
    assert.throws(() => p.conv(-1, heap, 0, 0, 0, new Int32Array(18)), /conv: argument 0/);
  });

  it('checks a convolution’s geometry and its three tensors against the heap', function () {
    const p = pack();
    // n, h, w, cin, ho, wo, cout, kh, kw, strides, dilations, pads (t, l, b, r), threads
    const params = (changes: Record<number, number> = {}) => {
      const v = Int32Array.of(1, 4, 4, 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
      for (const [i, value] of Object.entries(changes)) v[Number(i)] = value;
      return v;
    };
    // src 32 floats at 0, weights 36 at 128, dst 32 at 512: inside.
    f32.fill(0);
    p.conv(0, heap, 0, 128, 512, params());
    assert.throws(() => p.conv(0, heap, 0, 128, HEAP_BYTES - 64, params()), /argument 4: 32 floats/);
    assert.throws(() => p.conv(1, heap, HEAP_BYTES - 4, 128, 512, params()), /argument 2: 32 floats/);
    assert.throws(() => p.conv(2, heap, 0, HEAP_BYTES - 8, 512, params()), /argument 3: 36 floats/);
    assert.throws(() => p.conv(0, heap, 0, 128, 512, params({ 4: 5 })), /output size does not follow/);
    assert.throws(() => p.conv(0, heap, 0, 128, 512, params({ 9: 0 })), /params\[9\] must be at least 1/);
    assert.throws(() => p.conv(0, heap, 0, 128, 512, params({ 13: -1 })), /params\[13\] must be at least 0/);
    assert.throws(() => p.conv(0, heap, 0, 128, 512, new Int32Array(17)), /Int32Array of 18/);
    assert.throws(
      () => p.conv(0, heap, 0, 128, 512, params({ 0: 2 ** 30 })),
      /argument 2: 34359738368 floats at byte offset 0 do not lie inside the heap/,
    );
  });
});
