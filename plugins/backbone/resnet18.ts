/**
 * resnet18: torchvision's layout (7×7/2 stem conv, 3×3/2 max-pool, four layers of two basic blocks),
 * ending in global average pooling and a linear embedding. `depth: layer3` stops after layer3, the CSN
 * protocol (Veit et al.: 112×112 input, 64-d embedding), which is also the default input and embedding size.
 * Initialised as torchvision: Kaiming-normal (fan-out) convs, BatchNorm gamma 1 / beta 0 with PyTorch's
 * momentum 0.1 and epsilon 1e-5, PyTorch's default uniform init for the linear layer.
 */
import { z } from 'zod';
import { inputSizeOption, widthOption } from '../../src/config/bounds.js';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneDescription, BackboneFactory, StageDescription } from '../../src/kinds/backbone.js';
import * as tf from '../../src/tf.js';
import {
  ConvBn,
  Dense,
  VariableStore,
  globalAveragePool,
  initializers,
  maxPool,
  outputSize,
  stagedNet,
  TORCH_BATCH_NORM,
  type StageFunction,
} from '../../src/nn/index.js';

const BN = TORCH_BATCH_NORM;
const INIT = initializers.heNormal('fanOut');
const STEM_CHANNELS = 64;
const BLOCKS_PER_LAYER = 2;

/** The layers of ResNet-18; `depth` selects a prefix of this table. */
export const RESNET18_LAYERS = [
  { name: 'layer1', channels: 64, stride: 1 },
  { name: 'layer2', channels: 128, stride: 2 },
  { name: 'layer3', channels: 256, stride: 2 },
  { name: 'layer4', channels: 512, stride: 2 },
] as const;

const options = z.strictObject({
  /** Last layer kept: `layer3` is the CSN protocol. */
  depth: z.enum(['layer4', 'layer3']).default('layer4'),
  inputSize: inputSizeOption(32).default(112),
  embeddingDim: widthOption().default(64),
});

export type Resnet18Options = z.output<typeof options>;

function convBn(
  store: VariableStore,
  inC: number,
  outC: number,
  k: number,
  stride: number,
  relu = true,
): ConvBn {
  const spec = {
    kernelSize: k,
    inChannels: inC,
    outChannels: outC,
    stride,
    padding: (k - 1) / 2,
    init: INIT,
  };
  return new ConvBn(store, spec, BN, relu);
}

/** Basic block: two 3×3 convs, with a 1×1 projection shortcut when the shape changes. */
function basicBlock(store: VariableStore, inC: number, outC: number, stride: number): StageFunction {
  const conv1 = convBn(store.scope('conv1'), inC, outC, 3, stride);
  const conv2 = convBn(store.scope('conv2'), outC, outC, 3, 1, false);
  const shortcut =
    stride !== 1 || inC !== outC ? convBn(store.scope('downsample'), inC, outC, 1, stride, false) : undefined;
  return (x, context) => {
    const input = x as tf.Tensor4D;
    const main = conv2.apply(conv1.apply(input, context), context);
    return tf.relu(tf.add(main, shortcut ? shortcut.apply(input, context) : input));
  };
}

export function resnet18Backbone(o: Resnet18Options): BackboneFactory {
  const layers = RESNET18_LAYERS.slice(0, RESNET18_LAYERS.findIndex((l) => l.name === o.depth) + 1);
  let side = outputSize(outputSize(o.inputSize, 7, 2, 3), 3, 2, 1);
  const stages: StageDescription[] = [{ name: 'stem', outputShape: [side, side, STEM_CHANNELS] }];
  for (const layer of layers) {
    side = outputSize(side, 3, layer.stride, 1);
    stages.push({ name: layer.name, outputShape: [side, side, layer.channels] });
  }
  stages.push({ name: 'embedding', outputShape: [o.embeddingDim] });
  const lastChannels = layers[layers.length - 1]!.channels;
  const description: BackboneDescription = {
    name: 'resnet18',
    inputShape: [o.inputSize, o.inputSize, 3],
    stages,
    embeddingDim: o.embeddingDim,
  };
  return {
    description,
    instantiate(scope, seed) {
      const store = VariableStore.root(scope, seed);
      const stem = convBn(store.scope('stem'), 3, STEM_CHANNELS, 7, 2);
      const layerStages = layers.map((layer, li): StageFunction => {
        const inC = li === 0 ? STEM_CHANNELS : layers[li - 1]!.channels;
        const blocks = Array.from({ length: BLOCKS_PER_LAYER }, (_, b) =>
          basicBlock(
            store.scope(`${layer.name}/block${b}`),
            b === 0 ? inC : layer.channels,
            layer.channels,
            b === 0 ? layer.stride : 1,
          ),
        );
        return (x, context) => blocks.reduce((y, block) => block(y, context), x);
      });
      const fc = new Dense(store.scope('embedding'), {
        inFeatures: lastChannels,
        outFeatures: o.embeddingDim,
        init: initializers.torchLinear(),
        biasInit: initializers.torchLinear(lastChannels),
      });
      return stagedNet(description, store, [
        (x, context) => maxPool(stem.apply(x as tf.Tensor4D, context), 3, 2, 1),
        ...layerStages,
        (x) => fc.apply(globalAveragePool(x as tf.Tensor4D)),
      ]);
    },
  };
}

export const resnet18Plugin = definePlugin({
  kind: 'backbone',
  name: 'resnet18',
  version: '0.1.0',
  description: 'ResNet-18 (torchvision layout) with a linear embedding; depth layer3 is the CSN protocol',
  options,
  create: resnet18Backbone,
});
