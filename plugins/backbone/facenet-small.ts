/**
 * facenet-small: the network Zhao et al. released with the modulation paper
 * (models/single_net_attention_res4.py): 3×3 conv 32 (valid) → four residual blocks of 64, 128, 128, 128
 * channels → flatten → fully connected embedding. As in that code (TF-slim arg_scope), every conv and the
 * fully connected layer carry BatchNorm (decay 0.995, epsilon 0.001, beta only: slim's scale=False) and
 * ReLU, no biases, weights from a truncated normal with stddev 0.1. About 2.95 M weights at 150×150.
 */
import { z } from 'zod';
import { inputSizeOption, widthOption } from '../../src/config/bounds.js';
import { definePlugin } from '../../src/plugin/define.js';
import type { BackboneDescription, BackboneFactory, StageDescription } from '../../src/kinds/backbone.js';
import * as tf from '../../src/tf.js';
import {
  BatchNorm,
  ConvBn,
  Dense,
  VariableStore,
  flatten,
  initializers,
  maxPool,
  outputSize,
  stagedNet,
  type BatchNormSpec,
  type Conv2dSpec,
  type StageFunction,
} from '../../src/nn/index.js';

const STEM_CHANNELS = 32;
const BLOCK_CHANNELS = [64, 128, 128, 128] as const;
const BN: BatchNormSpec = { decay: 0.995, epsilon: 0.001, scale: false };
const INIT = initializers.truncatedNormal(0.1);
/** Smallest side that leaves the last block at least 1×1. */
export const FACENET_SMALL_MIN_INPUT = 48;

const options = z.strictObject({
  /** Square input side; 150 is the size the parameter count in the paper refers to. */
  inputSize: inputSizeOption(FACENET_SMALL_MIN_INPUT).default(150),
  embeddingDim: widthOption().default(256),
});

export type FacenetSmallOptions = z.output<typeof options>;

function conv(inChannels: number, outChannels: number, padding: 'same' | 'valid'): Conv2dSpec {
  return { kernelSize: 3, inChannels, outChannels, padding, init: INIT };
}

/** One residual block: 3×3 conv (valid) → 2×2 max-pool → two 3×3 convs (same), added to the pooled map. */
export function residualBlock(store: VariableStore, inChannels: number, channels: number): StageFunction {
  const reduce = new ConvBn(store.scope('conv1'), conv(inChannels, channels, 'valid'), BN);
  const convA = new ConvBn(store.scope('conv2a'), conv(channels, channels, 'same'), BN);
  const convB = new ConvBn(store.scope('conv2b'), conv(channels, channels, 'same'), BN);
  return (x, context) => {
    const pooled = maxPool(reduce.apply(x as tf.Tensor4D, context), 2, 2);
    return tf.add(convB.apply(convA.apply(pooled, context), context), pooled);
  };
}

export function facenetSmallBackbone(o: FacenetSmallOptions): BackboneFactory {
  let side = outputSize(o.inputSize, 3, 1, 'valid');
  const stages: StageDescription[] = [{ name: 'conv0', outputShape: [side, side, STEM_CHANNELS] }];
  BLOCK_CHANNELS.forEach((c, i) => {
    side = Math.floor(outputSize(side, 3, 1, 'valid') / 2);
    stages.push({ name: `block${i + 1}`, outputShape: [side, side, c] });
  });
  stages.push({ name: 'embedding', outputShape: [o.embeddingDim] });
  const flatFeatures = side * side * BLOCK_CHANNELS[BLOCK_CHANNELS.length - 1]!;
  const description: BackboneDescription = {
    name: 'facenet-small',
    inputShape: [o.inputSize, o.inputSize, 3],
    stages,
    embeddingDim: o.embeddingDim,
  };
  return {
    description,
    instantiate(scope, seed) {
      const store = VariableStore.root(scope, seed);
      const stem = new ConvBn(store.scope('conv0'), conv(3, STEM_CHANNELS, 'valid'), BN);
      const blocks = BLOCK_CHANNELS.map((c, i) =>
        residualBlock(store.scope(`block${i + 1}`), i === 0 ? STEM_CHANNELS : BLOCK_CHANNELS[i - 1]!, c),
      );
      const embeddingStore = store.scope('embedding');
      const fc = new Dense(embeddingStore.scope('fc'), {
        inFeatures: flatFeatures,
        outFeatures: o.embeddingDim,
        init: INIT,
      });
      const bn = new BatchNorm(embeddingStore.scope('bn'), o.embeddingDim, BN);
      return stagedNet(description, store, [
        (x, context) => stem.apply(x as tf.Tensor4D, context),
        ...blocks,
        (x, context) => tf.relu(bn.apply(fc.apply(flatten(x)), context)),
      ]);
    },
  };
}

export const facenetSmallPlugin = definePlugin({
  kind: 'backbone',
  name: 'facenet-small',
  version: '0.1.0',
  description:
    "The modulation paper's released net: conv 32 + four residual blocks + fc (2.95 M weights at 150 px)",
  options,
  create: facenetSmallBackbone,
});
