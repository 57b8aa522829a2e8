import { z } from 'zod';
import { createZapposDataset, describeZappos, ZAPPOS_CONDITIONS } from '../../src/data/zappos.js';
import { definePlugin } from '../../src/plugin/define.js';
import { dataPath, fit, onBadImage, splitCounts, taskList } from './options.js';

const fraction = z.number().positive('expected a share above 0: every split needs images');

export const utZappos50kDataset = definePlugin({
  kind: 'dataset',
  name: 'ut-zappos50k',
  version: '1.1.0',
  description:
    'UT-Zappos50K with the CSN triplet protocol (class, closure, gender, heel), official or generated lists',
  options: z.strictObject({
    /** The folder holding ut-zap50k-images/ and ut-zap50k-data/, relative to the config file. */
    root: dataPath('the folder UT-Zappos50K was unpacked into'),
    conditions: taskList(ZAPPOS_CONDITIONS, ZAPPOS_CONDITIONS),
    /** `official`: filenames.json and tripletlists/ in protocolDir; `generate`: made from meta-data.csv. */
    triplets: z.enum(['official', 'generate']).default('official'),
    /** Folder of filenames.json and tripletlists/ (default: root), relative to the config file. */
    protocolDir: dataPath('the folder of filenames.json and tripletlists/').optional(),
    generator: z
      .strictObject({
        seed: z.number().int().nonnegative().optional(),
        counts: splitCounts({ train: 100000, val: 10000, test: 20000 }),
        fractions: z
          .strictObject({
            train: fraction.default(0.7),
            val: fraction.default(0.1),
            test: fraction.default(0.2),
          })
          .default({ train: 0.7, val: 0.1, test: 0.2 }),
        heel: z
          .strictObject({
            close: z.number().int().nonnegative().default(0),
            far: z.number().int().positive().default(2),
          })
          .refine((h) => h.far > h.close, 'far must exceed close')
          .default({ close: 0, far: 2 }),
      })
      .default({
        counts: { train: 100000, val: 10000, test: 20000 },
        fractions: { train: 0.7, val: 0.1, test: 0.2 },
        heel: { close: 0, far: 2 },
      }),
    fit: fit('contain'),
    onBadImage,
  }),
  describe: (options, context) => describeZappos(options, context),
  create: (options, context) =>
    createZapposDataset(options, {
      size: context.imageSize,
      cacheDir: context.cacheDir,
      log: context.log,
      seed: context.seed,
      described: context.described,
    }),
});
