/** Built-in dataset plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { celebaDataset } from './celeba.js';
import { facesDataset } from './faces.js';
import { shapesDataset } from './shapes.js';
import { utZappos50kDataset } from './ut-zappos50k.js';

export const datasetPlugins: readonly AnyPluginOf<'dataset'>[] = [
  shapesDataset,
  facesDataset,
  celebaDataset,
  utZappos50kDataset,
];
