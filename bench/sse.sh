#!/usr/bin/env bash
# SSE fan-out: CONNECTIONS (default 10000) concurrent streams on Seatflow's
# server and SSE hub, then one broadcast. Prints the server's memory per
# connection (resident set after the streams opened minus before, divided by
# the streams) and the delivery latency of the broadcast to every stream.
#
# Last lines: sse_kib_per_conn=<KiB> and sse_p99_ms=<ms>.
# Environment: CONNECTIONS (10000), THREADS (server workers, 4: the default of
# http.threads).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

connections="${CONNECTIONS:-10000}"
threads="${THREADS:-4}"

scripts/install-deps.sh
scripts/build.sh >/dev/null

# Each stream is a socket in each process.
needed="$((connections + 1024))"
if (($(ulimit -Sn) < needed)); then ulimit -n "$needed"; fi

work="$(mktemp -d -t seatflow-bench-sse.XXXXXX)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port="$(free_port)"
./build/bench/sse_server "$port" "$threads" >"$work/server.log" 2>&1 &
server_pid=$!
wait_for 10 curl -sf "http://127.0.0.1:$port/health/live" || { cat "$work/server.log"; exit 1; }

./build/bench/sse_load "$port" "$server_pid" "$connections"
