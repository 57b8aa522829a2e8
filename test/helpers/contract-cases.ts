/** The contract harness's cases for every built-in backbone and method, run on cpu and on webgpu. */
import { tinyBackbone } from '../../plugins/backbone/tiny.js';
import type { AnyPluginOf, BackboneFactory } from '../../src/kinds/index.js';

/** The smallest inputs each backbone allows, so the cpu backend stays fast. */
export const BACKBONE_CASES: Record<string, readonly object[]> = {
  tiny: [{}],
  'facenet-small': [{ inputSize: 48, embeddingDim: 16 }],
  // layer3 differs by a row of the layer table; the parameter-count test covers it.
  resnet18: [{ depth: 'layer4', inputSize: 32, embeddingDim: 8 }],
};

export const METHOD_CASES: Record<string, readonly object[]> = {
  modulation: [{ form: 'vector' }, { form: 'matrix', stages: ['conv1', 'embedding'] }],
  shared: [{}, { heads: true }],
  separate: [{}],
  'cross-stitch': [{}, { granularity: 'scalar', stages: ['conv2'] }],
  csn: [{ masks: 'learned' }, { masks: 'fixed', normalize: 'after-mask', embeddingNormWeight: 0 }],
  film: [{}, { scale: 'relu', stages: ['conv1'] }],
  'task-routing': [{}, { sigma: 0.25, stages: ['conv2', 'embedding'] }],
  adapters: [{}, { stages: ['embedding'] }],
  'task-bn': [{}],
  mtan: [{}, { stages: ['conv2'] }],
  mmoe: [{}, { experts: 2, from: 'conv1', gateInput: 'pool' }],
  // Narrow attention widths keep the cpu backend fast; the defaults (512) are covered by the params test.
  asen: [
    { version: 1, spatialWidth: 8, channelWidth: 16 },
    { version: 2, stage: 'conv2', spatialWidth: 8, channelWidth: 16, attributeWidth: 5 },
  ],
};

/** The backbone the method cases run on. */
export const smallTiny = (): BackboneFactory =>
  tinyBackbone({ inputSize: 16, channels: [4, 8], embeddingDim: 6 });

export async function createBackbone(
  plugin: AnyPluginOf<'backbone'>,
  options: object,
): Promise<BackboneFactory> {
  return plugin.create(plugin.options.parse(options), {});
}
