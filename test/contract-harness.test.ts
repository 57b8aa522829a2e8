import { strict as assert, AssertionError } from 'node:assert';
import { z } from 'zod';
import { backbonePlugins } from '../plugins/backbone/index.js';
import { methodPlugins } from '../plugins/method/index.js';
import type { AnyPluginOf, BackboneFactory, MtlModel } from '../src/kinds/index.js';
import { definePlugin } from '../src/plugin/define.js';
import { checkBackboneContract, checkMethodContract } from '../src/testing/index.js';
import * as tf from '../src/tf.js';
import { BACKBONE_CASES, METHOD_CASES, createBackbone, smallTiny } from './helpers/contract-cases.js';

describe('contract harness', () => {
  it('has a case for every registered backbone and method', () => {
    assert.deepEqual(backbonePlugins.map((p) => p.name).sort(), Object.keys(BACKBONE_CASES).sort());
    assert.deepEqual(methodPlugins.map((p) => p.name).sort(), Object.keys(METHOD_CASES).sort());
  });

  for (const plugin of backbonePlugins) {
    for (const options of BACKBONE_CASES[plugin.name] ?? []) {
      it(`passes backbone ${plugin.name} ${JSON.stringify(options)}`, async () => {
        await checkBackboneContract(await createBackbone(plugin, options));
      });
    }
  }

  for (const plugin of methodPlugins) {
    for (const options of METHOD_CASES[plugin.name] ?? []) {
      it(`passes method ${plugin.name} ${JSON.stringify(options)} with 3 tasks`, async () => {
        await checkMethodContract(plugin, options, smallTiny(), 3);
      });
    }
  }

  describe('fails broken plugins', () => {
    /** A method built on shared, broken by `breakModel`. */
    function brokenMethod(breakModel: (model: MtlModel) => MtlModel): AnyPluginOf<'method'> {
      const shared = methodPlugins.find((p) => p.name === 'shared')!;
      return definePlugin({
        kind: 'method',
        name: 'broken',
        version: '0.0.0',
        description: 'deliberately broken',
        options: z.strictObject({}),
        create: async (_o, context) => breakModel(await shared.create({ heads: false }, context)),
      });
    }

    it('catches a tensor leaked by every embed call', async () => {
      const leaky = brokenMethod((model) => ({
        ...model,
        embed: (images, taskIds, context) => {
          tf.keep(tf.zeros([1]));
          return model.embed(images, taskIds, context);
        },
        parameters: () => model.parameters(),
        report: () => model.report(),
        dispose: () => model.dispose(),
      }));
      await assert.rejects(checkMethodContract(leaky, {}, smallTiny(), 2), (e: Error) => {
        assert.ok(e instanceof AssertionError);
        assert.match(e.message, /tensors leaked by one call/);
        return true;
      });
    });

    it('catches a report that disagrees with the parameters', async () => {
      const wrong = brokenMethod((model) => ({
        ...model,
        embed: (images, taskIds, context) => model.embed(images, taskIds, context),
        parameters: () => model.parameters(),
        report: () => ({ ...model.report(), sharedParams: 1 }),
        dispose: () => model.dispose(),
      }));
      await assert.rejects(checkMethodContract(wrong, {}, smallTiny(), 2), /report sharedParams 1/);
    });

    it('catches a backbone variable that no gradient reaches', async () => {
      const base = smallTiny();
      const unused: BackboneFactory = {
        description: base.description,
        instantiate(scope, seed) {
          const net = base.instantiate(scope, seed);
          const orphan = { name: `${scope}orphan`, variable: tf.variable(tf.zeros([3])), trainable: true };
          return {
            ...net,
            runStage: (i, x, c) => net.runStage(i, x, c),
            variables: () => [...net.variables(), orphan],
            dispose: () => {
              net.dispose();
              orphan.variable.dispose();
            },
          };
        },
      };
      await assert.rejects(checkBackboneContract(unused), /no gradient reaches "contract\/orphan"/);
    });
  });
});
