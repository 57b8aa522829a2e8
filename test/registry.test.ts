import { strict as assert } from 'node:assert';
import { z } from 'zod';
import { MtlzooError } from '../src/errors.js';
import { Kernel } from '../src/kernel/kernel.js';
import { definePlugin } from '../src/plugin/define.js';
import { PluginRegistries } from '../src/plugin/registry.js';

const lossPlugin = (name: string) =>
  definePlugin({
    kind: 'loss',
    name,
    version: '1.0.0',
    description: 'test loss',
    options: z.strictObject({}),
    create: () => ({ compute: () => assert.fail('not called'), distance: () => assert.fail('not called') }),
  });

function thrown(fn: () => unknown): MtlzooError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof MtlzooError, `expected MtlzooError, got ${String(error)}`);
    return error;
  }
  return assert.fail('expected an error');
}

describe('plugin registries', () => {
  it('routes each plugin to its kind and lists names sorted', () => {
    const registries = new PluginRegistries();
    registries.register(lossPlugin('zeta'), 'test');
    registries.register(lossPlugin('alpha'), 'test');
    assert.deepEqual(registries.of('loss').names(), ['alpha', 'zeta']);
    assert.deepEqual(registries.of('method').names(), []);
    assert.equal(registries.of('loss').entry('zeta').source, 'test');
  });

  it('refuses a duplicate name, naming both sources', () => {
    const registries = new PluginRegistries();
    registries.register(lossPlugin('triplet'), 'builtin');
    const error = thrown(() => registries.register(lossPlugin('triplet'), 'path:/tmp/mine.js'));
    assert.equal(error.code, 'PLUGIN_DUPLICATE');
    assert.match(error.message, /loss "triplet" is registered twice: by builtin and by path:\/tmp\/mine\.js/);
  });

  it('fails on an unknown name with the known names and the closest match', () => {
    const kernel = new Kernel();
    const error = thrown(() => kernel.registries.of('loss').get('triplett'));
    assert.equal(error.code, 'PLUGIN_UNKNOWN');
    assert.match(
      error.message,
      /unknown loss "triplett" \(did you mean "triplet"\?\); known losses: .*margin-ranking.*triplet/,
    );
  });

  it('refuses objects that are not plugins, saying what is wrong', () => {
    const registries = new PluginRegistries();
    const error = thrown(() =>
      registries.register(
        { kind: 'lost', name: 'Bad Name', version: '1', options: {}, create: 3 },
        'path:x.js',
      ),
    );
    assert.equal(error.code, 'PLUGIN_INVALID');
    for (const part of [
      /kind must be one of/,
      /name must be lower-case/,
      /version must be semver/,
      /options must be a zod schema/,
      /create must be a function/,
    ]) {
      assert.match(error.message, part);
    }
  });

  it('registers every built-in of every kind from the manifest', () => {
    const kernel = new Kernel();
    for (const kind of ['backend', 'backbone', 'method', 'loss', 'dataset', 'evaluator'] as const) {
      assert.ok(kernel.registries.of(kind).names().length > 0, `no built-in ${kind}`);
    }
    assert.deepEqual(kernel.registries.of('backend').names(), [
      'cpu',
      'tensorflow',
      'tensorflow-gpu',
      'wasm',
      'webgpu',
    ]);
  });
});
