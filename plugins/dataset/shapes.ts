import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import {
  createShapesDataset,
  DEFAULT_SHAPE_TASKS,
  describeShapes,
  SHAPE_TASK_NAMES,
  type ShapeTaskName,
} from '../../src/data/shapes.js';
import { splitCounts, taskList } from './options.js';

export const shapesDataset = definePlugin({
  kind: 'dataset',
  name: 'shapes',
  version: '1.0.0',
  description:
    'Procedural shapes (shape, colour, size, position, rotation, background texture), rendered at the backbone size from a seed; no downloads',
  options: z.strictObject({
    counts: splitCounts({ train: 5000, val: 500, test: 1000 }),
    tasks: taskList(SHAPE_TASK_NAMES as [ShapeTaskName, ...ShapeTaskName[]], DEFAULT_SHAPE_TASKS),
    /** Fixes the data independently of the run seed. */
    seed: z.number().int().nonnegative().optional(),
  }),
  describe: (options, context) => Promise.resolve(describeShapes(options, options.seed ?? context.seed)),
  create: (options, context) =>
    Promise.resolve(createShapesDataset(options, options.seed ?? context.seed, context.imageSize)),
});
