#!/usr/bin/env bash
# Runs every test suite: installs what is missing, builds, starts the servers
# the tests need (a throwaway PostgreSQL and Jaeger), runs ctest, stops what
# it started.
# Exits non-zero if anything fails.
#
# Usage: scripts/test.sh [ctest options...]   e.g. scripts/test.sh -L sqlite
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/postgres.sh
source scripts/lib/jaeger.sh

scripts/install-deps.sh

# Jaeger is built once and cached; the first time, alongside our own build.
scripts/install-jaeger.sh >/dev/null &
jaeger_install=$!
log "building"
scripts/build.sh
wait "$jaeger_install"

work="$(mktemp -d -t seatflow-test.XXXXXX)"
chmod 755 "$work"  # the PostgreSQL server user must reach its folder inside
cleanup() {
  jaeger_stop
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

pg_start "$work/postgres"
jaeger_start "$work/jaeger"

log "running tests"
cd build
ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@"
