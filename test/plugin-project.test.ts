import { describePluginProject } from './helpers/plugin-project.js';

// The guide's plugin project with mtlzoo linked in; `npm run test:project` installs it from a tarball.
describePluginProject('linked');
