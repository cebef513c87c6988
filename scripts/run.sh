#!/usr/bin/env bash
# Builds Seatflow if needed and runs it embedded: every service in one
# process, SQLite files under ./data, UI and API on http://localhost:8080.
# Extra arguments go to `seatflow up` (e.g. --port 9090).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
exec ./build/seatflow up "$@"
