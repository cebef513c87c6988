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
source scripts/lib/up.sh

scripts/install-deps.sh
scripts/build.sh >/dev/null

work="$(mktemp -d -t seatflow-bench-seatmap.XXXXXX)"
cleanup() {
  up_stop
  rm -rf "$work"
}
trap cleanup EXIT
up_start "$work"

sections=""
for s in F G H I; do
  sections+="${sections:+,}{\"name\":\"$s\",\"tier\":\"std\",\"rows\":100,\"seats_per_row\":50}"
done
event="$(curl -sf -X POST "$UP_URL/api/admin/events" \
  -H "Authorization: Bearer $UP_ADMIN" -H 'Content-Type: application/json' \
  -d "{\"name\":\"Stadium\",\"venue\":\"Arena\",\"starts_at\":\"2030-01-01T20:00:00Z\",
       \"currency\":\"EUR\",\"tiers\":[{\"name\":\"std\",\"price_minor\":5000}],
       \"sections\":[$sections]}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

echo "seat map: 20,000 seats, 1,000 changes over SSE, Chromium headless" >&2
node web/bench/seatmap.mjs "$UP_URL" "$event"
