# `seatflow up` for a benchmark. Source after common.sh, then:
#   up_start DIR [VAR=VALUE...]  starts build/seatflow up on a free port with
#                                its data in DIR/data, quiet, with an admin
#                                token; waits until ready; sets UP_URL,
#                                UP_ADMIN and UP_PID. Extra settings go in
#                                the environment of the process.
#   up_stop                      stops it
up_start() {
  local dir="$1"
  shift
  local port
  port="$(free_port)"
  UP_ADMIN="bench-admin-$RANDOM$RANDOM"
  env SEATFLOW_HTTP_PORT="$port" SEATFLOW_AUTH_ADMIN_TOKEN="$UP_ADMIN" SEATFLOW_DEMO_EVENT=false \
    SEATFLOW_HTTP_ACCESS_LOG=false SEATFLOW_LOG_LEVEL=warn "$@" \
    ./build/seatflow up --data-dir "$dir/data" >"$dir/server.log" 2>&1 &
  UP_PID=$!
  UP_URL="http://127.0.0.1:$port"
  wait_for 20 curl -sf "$UP_URL/health/ready" || { cat "$dir/server.log"; return 1; }
}

up_stop() {
  [[ -n "${UP_PID:-}" ]] && kill "$UP_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
