import { z } from 'zod';
import { CELEBA_PRESETS, createCelebaDataset } from '../../src/data/celeba.js';
import { definePlugin } from '../../src/plugin/define.js';
import { fit, onBadImage, root } from './options.js';

const presets = Object.keys(CELEBA_PRESETS) as [keyof typeof CELEBA_PRESETS];

export const celebaDataset = definePlugin({
  kind: 'dataset',
  name: 'celeba',
  version: '1.0.0',
  description: 'CelebA (official layout and partition): one binary retrieval task per chosen attribute',
  options: z.strictObject({
    root,
    /** `all`, a preset (`paper7`: the attributes of Zhao et al.), or attribute names as in list_attr_celeba.txt. */
    attributes: z
      .union([z.literal('all'), z.enum(presets), z.array(z.string().min(1)).min(1)])
      .default('all'),
    /** `positive`: anchor and positive have the attribute, the negative lacks it (the authors' rule). */
    anchor: z.enum(['positive', 'both']).default('positive'),
    /** Adds an `identity` task from identity_CelebA.txt. */
    identity: z.boolean().default(false),
    maxPerSplit: z.number().int().positive().optional(),
    fit: fit('cover'),
    onBadImage,
  }),
  create: (options, context) =>
    createCelebaDataset(options, { size: context.imageSize, cacheDir: context.cacheDir, log: context.log }),
});
