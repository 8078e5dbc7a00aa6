#!/usr/bin/env bash
# Starts the Deno Jupyter kernel with the deno binary that @moepp/reports installs (npm package
# `deno`, pinned in its devDependencies), so notebooks run on that Deno without a global install.
# MOEPP_DENO overrides the binary. Jupyter passes the connection file as the only argument; the
# kernel's cwd is the notebook's folder, so Deno finds the repo's package.json and resolves npm
# packages from node_modules.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
deno="${MOEPP_DENO:-}"
if [ -z "$deno" ]; then
  # The real binary first; the .bin entry is a node shim (slower start, and it sets NODE_PATH).
  for candidate in "$root/packages/reports/node_modules/deno/deno" "$root/packages/reports/node_modules/.bin/deno"; do
    if [ -x "$candidate" ]; then deno="$candidate"; break; fi
  done
fi
if [ -z "$deno" ] || [ ! -x "$deno" ]; then
  echo "start-kernel.sh: no deno binary under $root/packages/reports/node_modules (run 'pnpm install' at the repo root, or set MOEPP_DENO)" >&2
  exit 1
fi
exec "$deno" jupyter --kernel --conn "$1"
