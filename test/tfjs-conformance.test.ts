/**
 * A subset of `npm run test:tfjs` (tfjs-core's shipped op tests against the project's wasm kernels) inside
 * `npm test`: the spec files of the kernels whose edge cases once failed, in the two configurations that
 * put the most cases on the project's kernels (the native pack at every size; wasm alone with its broadcast
 * path at every size). The whole set, in all four configurations, runs in CI (.ci/run).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CONFIGURATIONS = ['native-small', 'wasm-js-broadcast'];
const SUBSET = [
  'ops/conv2d_transpose_test',
  'ops/sum_test',
  'ops/tile_test',
  'ops/mat_mul_test',
  'ops/pool_test',
];

describe('tfjs-core op tests against the project wasm kernels (subset of npm run test:tfjs)', function () {
  it(`pass in ${CONFIGURATIONS.join(' and ')} on ${SUBSET.length} spec files, but for the listed stock failures`, async function () {
    const runner = fileURLToPath(new URL('./tfjs/run.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        runner,
        '--config',
        CONFIGURATIONS.join(','),
        '--files',
        SUBSET.join(','),
        '--json',
      ],
      { maxBuffer: 16 * 2 ** 20 },
    ).catch((error: { stdout: string; stderr: string }) => {
      assert.fail(`${error.stdout}\n${error.stderr}`);
    });
    const counts = JSON.parse(stdout.trim().split('\n').pop()!) as { config: string; passed: number }[];
    assert.deepEqual(
      counts.map((c) => c.config),
      CONFIGURATIONS,
    );
    for (const { config, passed } of counts) assert.ok(passed > 150, `${config}: ${passed} specs passed`);
  });
});
