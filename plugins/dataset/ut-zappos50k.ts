import { z } from 'zod';
import { createZapposDataset, ZAPPOS_CONDITIONS } from '../../src/data/zappos.js';
import { definePlugin } from '../../src/plugin/define.js';
import { fit, onBadImage, root, splitCounts, taskList } from './options.js';

const fraction = z.number().nonnegative();

export const utZappos50kDataset = definePlugin({
  kind: 'dataset',
  name: 'ut-zappos50k',
  version: '1.0.0',
  description:
    'UT-Zappos50K with the CSN triplet protocol (class, closure, gender, heel), official or generated lists',
  options: z.strictObject({
    root,
    conditions: taskList(ZAPPOS_CONDITIONS, ZAPPOS_CONDITIONS),
    /** `official`: filenames.json and tripletlists/ in protocolDir; `generate`: made from meta-data.csv. */
    triplets: z.enum(['official', 'generate']).default('official'),
    protocolDir: z.string().min(1).optional(),
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
          .refine((f) => f.train + f.val + f.test > 0, 'fractions must not all be 0')
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
  create: (options, context) =>
    createZapposDataset(options, {
      size: context.imageSize,
      cacheDir: context.cacheDir,
      log: context.log,
      seed: context.seed,
    }),
});
