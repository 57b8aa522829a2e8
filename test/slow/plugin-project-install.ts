import { describePluginProject } from '../helpers/plugin-project.js';

// `npm run test:project`: the guide's plugin project with mtlzoo installed from `npm pack` of this tree.
describePluginProject('tarball');
