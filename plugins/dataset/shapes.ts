import { z } from 'zod';
import { definePlugin } from '../../src/plugin/define.js';
import {
  couplingProblem,
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
  version: '1.1.0',
  description:
    'Procedural shapes (shape, colour, size, position, rotation, background texture and tone), rendered at the backbone size from a seed, with an optional relatedness knob; no downloads',
  options: z
    .strictObject({
      counts: splitCounts({ train: 5000, val: 500, test: 1000 }),
      tasks: taskList(SHAPE_TASK_NAMES as [ShapeTaskName, ...ShapeTaskName[]], DEFAULT_SHAPE_TASKS),
      /** Fixes the data independently of the run seed. */
      seed: z.number().int().nonnegative().optional(),
      /**
       * ρ: the probability that an image's task labels are all set to one shared class (else drawn
       * independently); 1 makes the tasks identical, 0 makes each task's target the others' nuisance.
       */
      relatedness: z
        .number()
        .min(0, 'expected a probability in [0, 1]')
        .max(1, 'expected a probability in [0, 1]')
        .optional(),
    })
    .superRefine((o, context) => {
      const problem = o.relatedness === undefined ? undefined : couplingProblem(o.tasks);
      if (problem) context.addIssue({ code: 'custom', path: ['tasks'], input: o.tasks, message: problem });
    }),
  describe: (options, context) => Promise.resolve(describeShapes(options, options.seed ?? context.seed)),
  create: (options, context) =>
    Promise.resolve(createShapesDataset(options, options.seed ?? context.seed, context.imageSize)),
});
