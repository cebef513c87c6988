#!/usr/bin/env bash
# Runs every test suite: installs what is missing, builds, starts the servers
# the tests need (a throwaway PostgreSQL, Kafka broker and Jaeger, and a
# Seatflow cluster of scripts/cluster.sh for the distributed end-to-end
# tests), runs ctest, stops what it started.
# Exits non-zero if anything fails.
#
# Usage: scripts/test.sh [ctest options...]   e.g. scripts/test.sh -L sqlite
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/postgres.sh
source scripts/lib/jaeger.sh
source scripts/lib/kafka.sh

scripts/install-deps.sh

# Jaeger is built and Kafka fetched once and cached; the first time,
# alongside our own build.
scripts/install-jaeger.sh >/dev/null &
jaeger_install=$!
scripts/install-kafka.sh >/dev/null &
kafka_install=$!
log "building"
scripts/build.sh
wait "$jaeger_install"
wait "$kafka_install"

work="$(mktemp -d -t seatflow-test.XXXXXX)"
chmod 755 "$work"  # the PostgreSQL server user must reach its folder inside
cleanup() {
  SEATFLOW_CLUSTER_DIR="$work/cluster" scripts/cluster.sh down 2>/dev/null || true
  kafka_stop
  jaeger_stop
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

pg_start "$work/postgres"
jaeger_start "$work/jaeger"
kafka_start "$work/kafka"
log "starting a Seatflow cluster (scripts/cluster.sh)"
export SEATFLOW_TEST_CLUSTER_DIR="$work/cluster"
SEATFLOW_CLUSTER_DIR="$SEATFLOW_TEST_CLUSTER_DIR" SEATFLOW_CLUSTER_PORT="$(free_port)" \
  scripts/cluster.sh up >"$work/cluster.out"

log "running tests"
# From the repository's root, where cleanup() finds scripts/cluster.sh.
ctest --test-dir build --output-on-failure --timeout 300 -j "$(nproc)" "$@"
