import { z } from 'zod';
import { CELEBA_PRESETS, createCelebaDataset, describeCeleba } from '../../src/data/celeba.js';
import { definePlugin } from '../../src/plugin/define.js';
import { dataPath, fit, onBadImage, uniqueNames } from './options.js';

const presets = Object.keys(CELEBA_PRESETS);

export const celebaDataset = definePlugin({
  kind: 'dataset',
  name: 'celeba',
  version: '1.1.0',
  description:
    'CelebA (official or Kaggle layout, official partition): one binary retrieval task per chosen attribute',
  options: z.strictObject({
    /** The folder CelebA was unpacked into, relative to the config file that sets it. */
    root: dataPath('the folder CelebA was unpacked into'),
    /** `all`, a preset (`paper7`: the attributes of Zhao et al.), or attribute names as in the attribute list. */
    attributes: z
      .union([
        z
          .string()
          .refine((s) => s === 'all' || presets.includes(s), {
            error: `expected "all", a preset (${presets.join(', ')}) or a list of attribute names`,
          })
          .transform((s) => s as 'all' | keyof typeof CELEBA_PRESETS),
        uniqueNames('attribute'),
      ])
      .default('all'),
    /** `positive`: anchor and positive have the attribute, the negative lacks it (the authors' rule). */
    anchor: z.enum(['positive', 'both']).default('positive'),
    /** Adds an `identity` task from identity_CelebA.txt. */
    identity: z.boolean().default(false),
    maxPerSplit: z.number().int().positive().optional(),
    fit: fit('cover'),
    onBadImage,
  }),
  describe: (options) => describeCeleba(options),
  create: (options, context) =>
    createCelebaDataset(options, {
      size: context.imageSize,
      cacheDir: context.cacheDir,
      log: context.log,
      described: context.described,
    }),
});
