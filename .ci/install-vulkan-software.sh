#!/usr/bin/env bash
# Mesa's software Vulkan driver (llvmpipe), so the webgpu backend finds an adapter on a machine without a GPU and
# its tests run instead of skipping. Dawn needs Mesa >= 25 (Debian 12's own 22.3 yields no adapter); on Debian 12
# it comes from bookworm-backports, whose apt entry is derived from this machine's own debian.sources (same
# mirror, same keyring), so no registry host is written here.
set -euo pipefail
need=25
major() { sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }
installed=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | major || true)
if [ -n "$installed" ] && [ "$installed" -ge "$need" ]; then exit 0; fi

. /etc/os-release
target=()
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  suite=bookworm-backports
  if ! grep -rqs "$suite" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    src=/etc/apt/sources.list.d/debian.sources
    if [ ! -r "$src" ]; then
      echo "install-vulkan-software: $src is missing: add $suite to apt's sources by hand" >&2
      exit 1
    fi
    # The stanza that carries the release itself (Suites: bookworm …): its URIs and Signed-By serve backports too.
    entry=$(awk -v RS= -v suite="$suite" '
      /(^|\n)Suites:([^\n]* )?bookworm( |\n|$)/ {
        match($0, /URIs:[^\n]*/); uris = substr($0, RSTART, RLENGTH)
        keys = ""; if (match($0, /Signed-By:[^\n]*/)) keys = substr($0, RSTART, RLENGTH)
        printf "Types: deb\n%s\nSuites: %s\nComponents: main\n%s\n", uris, suite, keys; exit
      }' "$src")
    if [ -z "$entry" ]; then
      echo "install-vulkan-software: no 'Suites: bookworm' stanza in $src to derive $suite from" >&2
      exit 1
    fi
    printf '%s\n' "$entry" > "/etc/apt/sources.list.d/$suite.sources"
  fi
  target=(-t "$suite")
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${target[@]}" mesa-vulkan-drivers >/dev/null
installed=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers | major)
if [ "$installed" -lt "$need" ]; then
  echo "install-vulkan-software: mesa-vulkan-drivers $installed is older than $need: the webgpu tests will skip" >&2
fi
