#!/usr/bin/env bash
# Flash sale: BUYERS buyers (CONCURRENCY at a time) race for an event of
# SEATS seats through the public API with bench/flash_sale.cpp: session, seat
# map, hold, order, SOLD on the SSE stream. It checks the invariants and
# prints the figures.
#
# Usage: bench/flash-sale.sh [--mode embedded|distributed]
#   embedded (default)  `seatflow up` on a fresh data folder
#   distributed         the cluster of scripts/cluster.sh (two replicas of
#                       each service behind nginx, PostgreSQL, Kafka), then
#                       PostgreSQL's own pgbench (TPC-B) on the same server
#
# A warm-up sale of WARMUP_BUYERS buyers for as many seats, on an event of
# its own, comes first and is not reported: a fresh server (Kafka's JVM
# compiling its hot paths, consumer groups settling, caches filling) is not
# what a flash sale meets in production. Distributed, it is as large as the
# sale: after 1,000 buyers Kafka's JIT compiler still took 2.2 s of CPU
# during the sale that followed, and 0.26 s in the one after.
#
# Last lines: purchases_per_s=<n>; distributed also pgbench_tps=<n> and
# purchases_vs_pgbench=<ratio>.
# Environment: SEATS (4000), BUYERS (5000), CONCURRENCY (64),
# WARMUP_BUYERS (1000 embedded, BUYERS distributed; 0 for none),
# PGBENCH_SECONDS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/up.sh

mode=embedded
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mode) mode="${2:-}"; shift 2 ;;
    --mode=*) mode="${1#--mode=}"; shift ;;
    *) echo "usage: $0 [--mode embedded|distributed]" >&2; exit 2 ;;
  esac
done
[[ "$mode" == embedded || "$mode" == distributed ]] || {
  echo "flash-sale: --mode is embedded or distributed" >&2
  exit 2
}

seats="${SEATS:-4000}"
buyers="${BUYERS:-5000}"
concurrency="${CONCURRENCY:-64}"

scripts/install-deps.sh
scripts/build.sh >/dev/null

work="$(mktemp -d -t seatflow-bench-flash.XXXXXX)"
chmod 755 "$work"
cleanup() {
  if [[ "$mode" == distributed ]]; then
    SEATFLOW_CLUSTER_DIR="$work/cluster" scripts/cluster.sh down >/dev/null 2>&1 || true
  else
    up_stop
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The services run quiet (no access log) and with a per-buyer cap that lets
# the load generator's buyers through.
quiet=(SEATFLOW_HTTP_ACCESS_LOG=false SEATFLOW_LOG_LEVEL=warn
       SEATFLOW_RESERVATION_MAX_SEATS_PER_BUYER=10)
if [[ "$mode" == distributed ]]; then
  env "${quiet[@]}" SEATFLOW_CLUSTER_DIR="$work/cluster" SEATFLOW_CLUSTER_PORT="$(free_port)" \
    scripts/cluster.sh up >"$work/cluster.out"
  set -a
  source "$work/cluster/cluster.env"
  set +a
  url="$SEATFLOW_CLUSTER_URL"
  admin="$SEATFLOW_CLUSTER_ADMIN_TOKEN"
else
  up_start "$work" "${quiet[@]}"
  url="$UP_URL"
  admin="$UP_ADMIN"
fi

create_event() {  # create_event SEATS: prints the new event's id
  local rows=$((($1 + 49) / 50))
  curl -sf -X POST "$url/api/admin/events" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"name\":\"Flash sale\",\"venue\":\"Arena\",\"starts_at\":\"2030-01-01T20:00:00Z\",
         \"currency\":\"EUR\",\"tiers\":[{\"name\":\"std\",\"price_minor\":5000}],
         \"sections\":[{\"name\":\"F\",\"tier\":\"std\",\"rows\":$rows,\"seats_per_row\":50}]}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

if [[ "$mode" == distributed ]]; then
  warmup="${WARMUP_BUYERS:-$buyers}"
else
  warmup="${WARMUP_BUYERS:-1000}"
fi
if ((warmup > 0)); then
  echo "warm-up: $warmup buyers for as many seats" >&2
  ./build/bench/flash_sale "$url" "$(create_event "$warmup")" "$warmup" "$concurrency" \
    >"$work/warmup.out" || { cat "$work/warmup.out" >&2; exit 1; }
fi

rows=$(((seats + 49) / 50))
event="$(create_event "$seats")"

echo "flash sale: $buyers buyers, $((rows * 50)) seats, $concurrency at a time, $mode" >&2
./build/bench/flash_sale "$url" "$event" "$buyers" "$concurrency" | tee "$work/flash.out"
[[ "$mode" == distributed ]] || exit 0

# The baseline: what the same PostgreSQL server does with pgbench's TPC-B
# transactions, in a database of its own, the services idle.
purchases="$(sed -n 's/^purchases_per_s=//p' "$work/flash.out")"
pg="-h 127.0.0.1 -p $PG_PORT -U seatflow"
createdb $pg pgbench
pgbench $pg -i -q -s 10 pgbench >"$work/pgbench-init.log" 2>&1
tps="$(pgbench $pg -c "$concurrency" -j 2 -T "${PGBENCH_SECONDS:-20}" pgbench 2>/dev/null |
  sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)"
echo "pgbench_tps=$tps"
python3 -c "print(f'purchases_vs_pgbench={$purchases / $tps:.3f}')"
