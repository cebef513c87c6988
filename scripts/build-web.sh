#!/usr/bin/env bash
# Builds the web UI (web/) into web/dist with Vite, installing its npm
# packages first when package-lock.json changed. Does nothing when dist is
# newer than every source file.
#
# `npm install --no-save` rather than `npm ci`: the lock file holds only the
# optional packages of the platforms the registry offered (Rollup's and
# esbuild's native builds), which `npm ci` refuses as out of sync; install
# follows the lock for everything it holds and leaves it unchanged.
set -euo pipefail
cd "$(dirname "$0")/../web"

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "==> installing the web UI's npm packages" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error >&2
fi
if [[ -f dist/index.html ]] &&
  [[ -z "$(find src public index.html vite.config.ts tsconfig.json package-lock.json \
    -newer dist/index.html -print -quit)" ]]; then
  exit 0
fi
echo "==> building the web UI" >&2
node node_modules/typescript/bin/tsc --noEmit
node node_modules/vite/bin/vite.js build --logLevel warn
