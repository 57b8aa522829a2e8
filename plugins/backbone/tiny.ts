/**
 * tiny: a few small conv stages for tests and the quickstart; trains in seconds on the pure-JS cpu backend.
 * Each stage is 3×3 conv (same) → BatchNorm → ReLU → 2×2 max-pool; then flatten → linear embedding.
 */
import { z } from 'zod';
import { inputSizeOption, widthOption } from '../../src/config/bounds.js';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneDescription, BackboneFactory } from '../../src/kinds/backbone.js';
import type * as tf from '../../src/tf.js';
import {
  ConvBn,
  Dense,
  VariableStore,
  flatten,
  initializers,
  maxPool,
  stagedNet,
  TORCH_BATCH_NORM,
  type StageFunction,
} from '../../src/nn/index.js';

const BN = TORCH_BATCH_NORM;

const options = z
  .strictObject({
    /** Square input side in pixels. */
    inputSize: inputSizeOption(2).default(32),
    /** Output channels of each conv stage; each stage halves the spatial size. */
    channels: z.array(widthOption()).min(1).default([8, 16, 32]),
    embeddingDim: widthOption().default(32),
  })
  .refine((o) => o.inputSize >> o.channels.length >= 1, {
    path: ['inputSize'],
    message: 'too small: each conv stage halves the input side',
  });

export type TinyOptions = z.output<typeof options>;

export function tinyBackbone(o: TinyOptions): BackboneFactory {
  const sides = o.channels.map((_, i) => o.inputSize >> (i + 1));
  const lastSide = sides[sides.length - 1]!;
  const lastChannels = o.channels[o.channels.length - 1]!;
  const description: BackboneDescription = {
    name: 'tiny',
    inputShape: [o.inputSize, o.inputSize, 3],
    stages: [
      ...o.channels.map((c, i) => ({ name: `conv${i + 1}`, outputShape: [sides[i]!, sides[i]!, c] })),
      { name: 'embedding', outputShape: [o.embeddingDim] },
    ],
    embeddingDim: o.embeddingDim,
  };
  return {
    description,
    instantiate(scope, seed) {
      const store = VariableStore.root(scope, seed);
      const convStages = o.channels.map((c, i): StageFunction => {
        const unit = new ConvBn(
          store.scope(`conv${i + 1}`),
          {
            kernelSize: 3,
            inChannels: i === 0 ? 3 : o.channels[i - 1]!,
            outChannels: c,
            padding: 'same',
            init: initializers.heNormal('fanOut'),
          },
          BN,
        );
        return (x, context) => maxPool(unit.apply(x as tf.Tensor4D, context), 2, 2);
      });
      const inFeatures = lastSide * lastSide * lastChannels;
      const head = new Dense(store.scope('embedding'), {
        inFeatures,
        outFeatures: o.embeddingDim,
        init: initializers.torchLinear(),
        biasInit: initializers.torchLinear(inFeatures),
      });
      return stagedNet(description, store, [...convStages, (x) => head.apply(flatten(x))]);
    },
  };
}

export const tinyPlugin = definePlugin({
  kind: 'backbone',
  name: 'tiny',
  version: '0.1.0',
  description: 'A few small conv stages (default 32×32 input, 8/16/32 channels, 32-d embedding) for tests',
  options,
  create: tinyBackbone,
});
