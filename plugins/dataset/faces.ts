import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import {
  createFacesDataset,
  describeFaces,
  FACE_TASK_NAMES,
  type FaceTaskName,
} from '../../src/data/faces.js';
import { splitCounts, taskList } from './options.js';

export const facesDataset = definePlugin({
  kind: 'dataset',
  name: 'faces',
  version: '1.0.0',
  description:
    'Cartoon faces drawn with facesjs (gender, skin tone, hair colour and style, glasses, facial hair, headwear), generated once and cached',
  options: z.strictObject({
    counts: splitCounts({ train: 4000, val: 500, test: 1000 }),
    tasks: taskList(FACE_TASK_NAMES as [FaceTaskName, ...FaceTaskName[]], FACE_TASK_NAMES),
    /** Fixes the data independently of the run seed. */
    seed: z.number().int().nonnegative().optional(),
  }),
  describe: (options, context) => Promise.resolve(describeFaces(options, options.seed ?? context.seed)),
  create: (options, context) =>
    createFacesDataset(options, {
      seed: options.seed ?? context.seed,
      size: context.imageSize,
      cacheDir: context.cacheDir,
      log: context.log,
    }),
});
