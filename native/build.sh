#!/bin/sh
# Builds the optional native kernel pack (native/build/Release/mtlzoo_native.node) and the exact-search
# addon beside it (mtlzoo_search.node).
# Needs a C++17 compiler, make, python3 and oneDNN's headers (Debian: apt-get install -y g++ make python3 libdnnl-dev).
# npm install runs it through native/install.js when those are present; run it yourself after installing them later.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# node-gyp ships inside npm; use that copy rather than fetching one.
gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
# Use the headers installed beside node instead of downloading them.
prefix=$(dirname "$(dirname "$(command -v node)")")
nodedir=""
if [ -f "$prefix/include/node/node_api.h" ]; then nodedir="--nodedir=$prefix"; fi
cd "$here"
node "$gyp" rebuild $nodedir
