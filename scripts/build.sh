#!/usr/bin/env bash
# Configures (once) and builds Seatflow into build/ (the binary is
# build/seatflow), then the web UI into web/dist.
# Usage: scripts/build.sh [cmake --build options...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${SEATFLOW_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
fi
cmake --build build "$@"
# The web UI that `seatflow up` serves.
scripts/build-web.sh
