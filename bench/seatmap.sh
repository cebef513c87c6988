#!/usr/bin/env bash
# The web UI's seat map under load: starts `seatflow up` on a fresh data
# folder, creates an event of 20,000 seats (four sections of 100 rows of 50),
# opens it in Debian's Chromium (playwright-core) and lets 1,000 seat changes
# arrive over SSE (web/bench/seatmap.mjs).
#
# Prints first_render_ms=<time from navigation to the map drawn> and, last,
# p95_frame_ms=<p95 frame time while the changes arrive>.
# Goal: first render <= 1000 ms, p95 frame <= 16 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

scripts/install-deps.sh
scripts/build.sh >/dev/null

work="$(mktemp -d -t seatflow-bench-seatmap.XXXXXX)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port="$(free_port)"
admin="bench-admin-$RANDOM$RANDOM"
SEATFLOW_HTTP_PORT="$port" SEATFLOW_AUTH_ADMIN_TOKEN="$admin" SEATFLOW_DEMO_EVENT=false \
  SEATFLOW_HTTP_ACCESS_LOG=false SEATFLOW_LOG_LEVEL=warn \
  ./build/seatflow up --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
wait_for 20 curl -sf "http://127.0.0.1:$port/health/ready" || { cat "$work/server.log"; exit 1; }

sections=""
for s in F G H I; do
  sections+="${sections:+,}{\"name\":\"$s\",\"tier\":\"std\",\"rows\":100,\"seats_per_row\":50}"
done
event="$(curl -sf -X POST "http://127.0.0.1:$port/api/admin/events" \
  -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d "{\"name\":\"Stadium\",\"venue\":\"Arena\",\"starts_at\":\"2030-01-01T20:00:00Z\",
       \"currency\":\"EUR\",\"tiers\":[{\"name\":\"std\",\"price_minor\":5000}],
       \"sections\":[$sections]}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

echo "seat map: 20,000 seats, 1,000 changes over SSE, Chromium headless" >&2
node web/bench/seatmap.mjs "http://127.0.0.1:$port" "$event"
