# A throwaway Jaeger v2 (in-memory storage) on free loopback ports. Source
# it after common.sh, then:
#   jaeger_prepare     builds Jaeger if needed; picks and exports its ports
#                      (JAEGER_*_PORT, read by deploy/jaeger.yaml); sets
#                      JAEGER_CMD, the command that runs it in the foreground
#   jaeger_start DIR   builds Jaeger if needed (scripts/install-jaeger.sh),
#                      starts it with its log in DIR, waits until healthy;
#                      exports SEATFLOW_TEST_JAEGER_OTLP_URL (the /v1/traces
#                      URL) and SEATFLOW_TEST_JAEGER_QUERY_URL (the query
#                      API's base URL)
#   jaeger_stop        stops it

jaeger_prepare() {
  local binary
  binary="$(scripts/install-jaeger.sh)"
  export JAEGER_OTLP_PORT JAEGER_QUERY_PORT JAEGER_QUERY_GRPC_PORT JAEGER_HEALTH_PORT
  JAEGER_OTLP_PORT="$(free_port)"
  JAEGER_QUERY_PORT="$(free_port)"
  JAEGER_QUERY_GRPC_PORT="$(free_port)"
  JAEGER_HEALTH_PORT="$(free_port)"
  # OTEL_TRACES_EXPORTER=none: Jaeger does not trace itself.
  JAEGER_CMD=(env OTEL_TRACES_EXPORTER=none "JAEGER_OTLP_PORT=$JAEGER_OTLP_PORT"
              "JAEGER_QUERY_PORT=$JAEGER_QUERY_PORT" "JAEGER_QUERY_GRPC_PORT=$JAEGER_QUERY_GRPC_PORT"
              "JAEGER_HEALTH_PORT=$JAEGER_HEALTH_PORT"
              "$binary" --config "file:$PWD/deploy/jaeger.yaml")
}

jaeger_start() {
  local dir="$1"
  mkdir -p "$dir"
  jaeger_prepare || return 1
  "${JAEGER_CMD[@]}" >"$dir/jaeger.log" 2>&1 &
  JAEGER_PID=$!
  if ! wait_for 60 curl -sf "http://127.0.0.1:$JAEGER_HEALTH_PORT/status"; then
    cat "$dir/jaeger.log" >&2
    return 1
  fi
  export SEATFLOW_TEST_JAEGER_OTLP_URL="http://127.0.0.1:$JAEGER_OTLP_PORT/v1/traces"
  export SEATFLOW_TEST_JAEGER_QUERY_URL="http://127.0.0.1:$JAEGER_QUERY_PORT"
  log "Jaeger on 127.0.0.1: OTLP $JAEGER_OTLP_PORT, query $JAEGER_QUERY_PORT"
}

jaeger_stop() {
  if [[ -n "${JAEGER_PID:-}" ]]; then
    kill "$JAEGER_PID" 2>/dev/null || true
    wait "$JAEGER_PID" 2>/dev/null || true
    JAEGER_PID=
  fi
}
