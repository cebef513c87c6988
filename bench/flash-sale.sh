#!/usr/bin/env bash
# Flash sale, embedded: starts `seatflow up` on a fresh data folder, creates an
# event of SEATS seats through the admin API, and lets BUYERS buyers
# (CONCURRENCY at a time) race for them through the public API with
# bench/flash_sale.cpp: session, seat map, hold, order, SOLD on the SSE stream.
# It checks the invariants and prints the figures.
#
# Last line: purchases_per_s=<n>.
# Environment: SEATS (4000), BUYERS (5000), CONCURRENCY (64).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/up.sh

seats="${SEATS:-4000}"
buyers="${BUYERS:-5000}"
concurrency="${CONCURRENCY:-64}"

scripts/install-deps.sh
scripts/build.sh >/dev/null

work="$(mktemp -d -t seatflow-bench-flash.XXXXXX)"
cleanup() {
  up_stop
  rm -rf "$work"
}
trap cleanup EXIT
up_start "$work" SEATFLOW_RESERVATION_MAX_SEATS_PER_BUYER=10

rows=$(((seats + 49) / 50))
event="$(curl -sf -X POST "$UP_URL/api/admin/events" \
  -H "Authorization: Bearer $UP_ADMIN" -H 'Content-Type: application/json' \
  -d "{\"name\":\"Flash sale\",\"venue\":\"Arena\",\"starts_at\":\"2030-01-01T20:00:00Z\",
       \"currency\":\"EUR\",\"tiers\":[{\"name\":\"std\",\"price_minor\":5000}],
       \"sections\":[{\"name\":\"F\",\"tier\":\"std\",\"rows\":$rows,\"seats_per_row\":50}]}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

echo "flash sale: $buyers buyers, $((rows * 50)) seats, $concurrency at a time, embedded" >&2
./build/bench/flash_sale "$UP_URL" "$event" "$buyers" "$concurrency"
