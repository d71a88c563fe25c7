#!/bin/sh
# Installs Rotor for production from the tarball made by `npm pack`: the compiled dist/, with
# exactly the runtime dependency versions pinned in package-lock.json and no dev dependencies.
# The Dockerfile's runtime stage runs this script, test/integration/production-install.test.ts
# runs the same script, and an operator can run it on a plain host (docs/deploying.md).
#
# Usage: production-install.sh <rotor-x.y.z.tgz> <package-lock.json> <install dir> [<bin dir>]
#
# <install dir> must be absent or empty: installing over an older version would leave its stale
# files behind, so install each version into its own directory and switch a symlink.
# With <bin dir>, `rotor` is linked there (e.g. /usr/local/bin) to put it on the PATH.
# npm settings come from the environment as usual: npm_config_offline=true installs from the
# npm cache alone, npm_config_registry points at a mirror.
set -eu

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 <rotor-x.y.z.tgz> <package-lock.json> <install dir> [<bin dir>]" >&2
  exit 2
fi
tarball=$1
lock=$2
dest=$3
bindir=${4:-}

[ -f "$tarball" ] || { echo "production-install: no tarball at $tarball (make one with npm pack)" >&2; exit 1; }
[ -f "$lock" ] || { echo "production-install: no lock file at $lock" >&2; exit 1; }
if [ -d "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
  echo "production-install: $dest is not empty; install each version into a new directory" >&2
  exit 1
fi

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
# npm pack puts every file under package/.
tar -xzf "$tarball" -C "$dest" --strip-components=1
# npm pack never includes package-lock.json; npm ci needs it to install the pinned versions.
cp "$lock" "$dest/package-lock.json"
cd "$dest"
# Runs the package's `prepare` (scripts/prepare.mjs), which finds no TypeScript and keeps the
# shipped dist/, and the optional bufferutil's install step (a prebuilt binary; no compiler needed).
npm ci --omit=dev --no-audit --no-fund

# npm links and marks executable the bins of dependencies only, not of the project itself.
chmod 755 dist/cli/main.js
if [ -n "$bindir" ]; then
  mkdir -p "$bindir"
  ln -sf "$dest/dist/cli/main.js" "$bindir/rotor"
fi
echo "production-install: Rotor installed in $dest${bindir:+, rotor linked in $bindir}"
