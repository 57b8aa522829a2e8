// `npm install`'s hook for the optional native kernel pack (package.json "install"): builds it where a C++
// compiler, make, python3, oneDNN's headers and Node's headers are present, and otherwise prints one line
// saying what is missing and what that costs, and lets the install go on.
//   MTLZOO_NATIVE_BUILD=0        skip the build (as if nothing were installed)
//   MTLZOO_NATIVE_BUILD=require  fail the install when the pack cannot be built (CI)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const mode = process.env.MTLZOO_NATIVE_BUILD ?? '1';
const APT = 'sudo apt-get install -y g++ make python3 libdnnl-dev && npm run build:native';
const COST =
  'training runs on wasm alone, 2–10× slower, and exact search on tfjs (docs/performance.md, docs/retrieval.md)';

const runs = (command, args, input) =>
  spawnSync(command, args, { input, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'] })
    .status === 0;

/** What the build needs and this machine lacks, as Debian package names. */
function missing() {
  const cxx = process.env.CXX ?? 'c++';
  const lacks = [];
  const compiler = runs(cxx, ['--version']);
  if (!compiler) lacks.push('g++');
  if (!runs('make', ['--version'])) lacks.push('make');
  if (!runs('python3', ['--version'])) lacks.push('python3');
  if (
    compiler &&
    !runs(cxx, ['-x', 'c++', '-E', '-o', '/dev/null', '-'], '#include <oneapi/dnnl/dnnl.hpp>\n')
  )
    lacks.push('libdnnl-dev');
  const prefix = dirname(dirname(process.execPath));
  if (!existsSync(join(prefix, 'include', 'node', 'node_api.h')))
    lacks.push(`Node's headers (${prefix}/include/node)`);
  return lacks;
}

function notBuilt(why) {
  const line = `mtlzoo: native kernel pack not built (${why}); ${COST}. To build it: ${APT}`;
  if (mode === 'require') {
    console.error(line);
    process.exit(1);
  }
  console.log(line);
}

if (mode === '0') {
  notBuilt('MTLZOO_NATIVE_BUILD=0');
} else {
  const lacks = missing();
  if (lacks.length > 0) {
    notBuilt(`missing ${lacks.join(', ')}`);
  } else {
    const build = spawnSync('sh', [join(here, 'build.sh')], { encoding: 'utf8' });
    if (build.status === 0) {
      console.log(
        'mtlzoo: native kernel pack built (native/build/Release/mtlzoo_native.node, mtlzoo_search.node)',
      );
    } else {
      const log = join(here, 'build', 'build.log');
      mkdirSync(dirname(log), { recursive: true });
      writeFileSync(log, `${build.stdout}\n${build.stderr}`);
      notBuilt(`the build failed, see ${log}`);
    }
  }
}
