/**
 * example-backbone: two conv stages (3×3 conv → BatchNorm → ReLU → 2×2 max-pool), then global average
 * pooling and a linear embedding. A method wraps the stages by name: `conv1`, `conv2`, `embedding`.
 */
import {
  ConvBn,
  Dense,
  VariableStore,
  definePlugin,
  globalAveragePool,
  initializers,
  maxPool,
  stagedNet,
  z,
  type BackboneDescription,
  type StageFunction,
  type tf,
} from 'mtlzoo';

export const exampleBackbone = definePlugin({
  kind: 'backbone',
  name: 'example-backbone',
  version: '0.1.0',
  description: 'Two conv stages, global average pooling and a linear embedding',
  options: z.strictObject({
    /** Square input side in pixels; each conv stage halves it. */
    inputSize: z.number().int().min(4).default(32),
    /** Channels of the first stage; the second has twice as many. */
    width: z.number().int().positive().default(8),
    embeddingDim: z.number().int().positive().default(16),
  }),
  // A backbone's factory is synchronous: mtlzoo describes its stages while it validates a config.
  create({ inputSize, width, embeddingDim }) {
    const channels = [width, 2 * width];
    const description: BackboneDescription = {
      name: 'example-backbone',
      inputShape: [inputSize, inputSize, 3],
      stages: [
        { name: 'conv1', outputShape: [inputSize >> 1, inputSize >> 1, channels[0]!] },
        { name: 'conv2', outputShape: [inputSize >> 2, inputSize >> 2, channels[1]!] },
        { name: 'embedding', outputShape: [embeddingDim] },
      ],
      embeddingDim,
    };
    return {
      description,
      instantiate(scope, seed) {
        const store = VariableStore.root(scope, seed);
        const convs = channels.map(
          (c, i) =>
            new ConvBn(
              store.scope(`conv${i + 1}`),
              {
                kernelSize: 3,
                inChannels: i === 0 ? 3 : channels[i - 1]!,
                outChannels: c,
                padding: 'same',
                init: initializers.heNormal('fanOut'),
              },
              { decay: 0.9, epsilon: 1e-5, scale: true },
            ),
        );
        const head = new Dense(store.scope('embedding'), {
          inFeatures: channels[1]!,
          outFeatures: embeddingDim,
          init: initializers.torchLinear(),
          biasInit: initializers.torchLinear(channels[1]!),
        });
        return stagedNet(description, store, [
          ...convs.map(
            (conv): StageFunction =>
              (x, context) =>
                maxPool(conv.apply(x as tf.Tensor4D, context), 2, 2),
          ),
          (x) => head.apply(globalAveragePool(x as tf.Tensor4D)),
        ]);
      },
    };
  },
});
