#!/usr/bin/env bash
# Builds Seatflow if needed and runs it embedded: SQLite files under ./data.
#
# Today this prepares the embedded databases (every service's schema
# migrations) and prints the effective configuration; the server itself
# (`seatflow up`, UI and API on http://localhost:8080) arrives with the
# HTTP and purchase-flow work.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
./build/seatflow migrate "$@"
./build/seatflow config "$@"
