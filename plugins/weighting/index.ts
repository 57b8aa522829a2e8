/** Built-in weighting strategies (the second MTL axis), one per file; LibMTL's menu, in its order of papers. */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { alignedMtlWeighting } from './aligned-mtl.js';
import { cagradWeighting } from './cagrad.js';
import { dbMtlWeighting } from './db-mtl.js';
import { dwaWeighting } from './dwa.js';
import { equalWeighting } from './equal.js';
import { famoWeighting } from './famo.js';
import { graddropWeighting } from './graddrop.js';
import { gradnormWeighting } from './gradnorm.js';
import { gradvacWeighting } from './gradvac.js';
import { imtlWeighting } from './imtl.js';
import { mgdaWeighting } from './mgda.js';
import { nashMtlWeighting } from './nash-mtl.js';
import { pcgradWeighting } from './pcgrad.js';
import { rlwWeighting } from './rlw.js';
import { uncertaintyWeighting } from './uncertainty.js';

export const weightingPlugins: readonly AnyPluginOf<'weighting'>[] = [
  equalWeighting,
  uncertaintyWeighting,
  gradnormWeighting,
  mgdaWeighting,
  dwaWeighting,
  pcgradWeighting,
  graddropWeighting,
  gradvacWeighting,
  imtlWeighting,
  cagradWeighting,
  nashMtlWeighting,
  rlwWeighting,
  alignedMtlWeighting,
  famoWeighting,
  dbMtlWeighting,
];
