#!/usr/bin/env bash
# The seatflow command as a user meets it: help, version, configuration
# errors (exit 2, one line naming the key or file), and migrate.
#
# Usage: cli_test.sh PATH/TO/seatflow sqlite|postgres
# The postgres run needs SEATFLOW_TEST_POSTGRES_URL (set by scripts/test.sh).
set -u

seatflow="$1"
backend="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

# Names and environment of the user's shell must not leak into the checks.
unset SEATFLOW_CONFIG SEATFLOW_DATA_DIR SEATFLOW_DATABASE_BACKEND SEATFLOW_DATABASE_URL

check() {  # check NAME CONDITION-COMMAND...
  local name="$1"
  shift
  if "$@"; then
    passes=$((passes + 1))
  else
    echo "FAIL: $name"
    failures=$((failures + 1))
  fi
}

# run ARGS...: sets $status, $out, $err
run() {
  "$seatflow" "$@" >"$work/out" 2>"$work/err"
  status=$?
  out="$(cat "$work/out")"
  err="$(cat "$work/err")"
}

one_line_with() {  # stderr is exactly one line containing $1
  [[ "$(wc -l <"$work/err")" -eq 1 && "$err" == *"$1"* ]] || {
    echo "  stderr was: $err"
    return 1
  }
}

if [[ "$backend" == "sqlite" ]]; then
  run --help
  check "--help exits 0 and lists migrate" test "$status" -eq 0 -a -n "$(grep -F migrate "$work/out")"

  run --version
  check "--version prints the version" test "$status" -eq 0 -a -n "$(grep -E '^seatflow [0-9]+\.[0-9]+\.[0-9]+' "$work/out")"

  run
  check "no command is a usage error (2)" test "$status" -eq 2

  run frobnicate
  check "unknown command is a usage error (2)" test "$status" -eq 2

  run serve ticketing
  check "serve: unknown service is a usage error (2)" test "$status" -eq 2
  run serve order
  check "serve on SQLite: exit 2, says PostgreSQL" test "$status" -eq 2
  check "serve on SQLite: one line" one_line_with "PostgreSQL"
  run serve payment --set database.backend=postgres --set database.url=postgresql://x/y \
    --set bus.backend=kafka --set bus.kafka_brokers=127.0.0.1:1
  check "serve without a shared session secret: exit 2" test "$status" -eq 2
  check "serve without a shared session secret: says which key" one_line_with "auth.session_secret"

  printf '[database]\nbackend = "sqlite"\npool_sise = 4\n' >"$work/unknown.toml"
  run --config "$work/unknown.toml" config
  check "unknown key: exit 2" test "$status" -eq 2
  check "unknown key: one line naming it" one_line_with "unknown config key 'database.pool_sise'"

  printf '[database]\npool_size = "many"\n' >"$work/type.toml"
  run --config "$work/type.toml" config
  check "wrong type: exit 2" test "$status" -eq 2
  check "wrong type: one line naming the key" one_line_with "config key 'database.pool_size'"

  run --config "$work/absent.toml" config
  check "missing file: exit 2" test "$status" -eq 2
  check "missing file: one line naming it" one_line_with "config file '$work/absent.toml' not found"

  SEATFLOW_DATABASE_POOL_SIZE=zero run config
  check "wrong type in env: exit 2" test "$status" -eq 2
  check "wrong type in env: names key and variable" one_line_with "SEATFLOW_DATABASE_POOL_SIZE"

  run --set log.levle=debug config
  check "unknown key in --set: exit 2" test "$status" -eq 2
  check "unknown key in --set: names it" one_line_with "'log.levle'"

  printf 'data_dir = "%s"\n[log]\nlevel = "debug"\n' "$work/from-file" >"$work/good.toml"
  SEATFLOW_LOG_LEVEL=warn run --config "$work/good.toml" --set log.format=json config
  check "config shows layered values" test "$status" -eq 0
  check "config: file value" grep -qF "data_dir = $work/from-file  # file" "$work/out"
  check "config: env beats file" grep -qF "log.level = warn  # env" "$work/out"
  check "config: flag" grep -qF "log.format = json  # flag" "$work/out"

  run --data-dir "$work/data" migrate --service nope
  check "unknown service: exit 2" test "$status" -eq 2

  run --data-dir "$work/data" migrate --dry-run
  check "dry run succeeds" test "$status" -eq 0
  check "dry run creates no database" test ! -e "$work/data/reservation.db"

  run --data-dir "$work/data" migrate
  check "migrate succeeds" test "$status" -eq 0
  check "migrate creates one database per service" \
    test -e "$work/data/reservation.db" -a -e "$work/data/payment.db" -a -e "$work/data/order.db"
  check "migrate creates the topics in the embedded log" \
    grep -qF "embedded: topic order.events is there" "$work/out"
  run --data-dir "$work/data" migrate --service order
  check "second migrate is up to date" grep -qF "order: schema is up to date" "$work/out"
  check "a service's migrate creates the topics it publishes" \
    grep -qF "embedded: topic order.events is there" "$work/out"
  check "and only those" test "$(grep -c "topic .* is there" "$work/out")" -eq 1
  run --data-dir "$work/data" topics --dry-run
  check "topics --dry-run lists the topics" grep -qF "would create topic seat.changes (8 partitions)" "$work/out"

  # seatflow up: serves, reports ready, stops gracefully on SIGINT.
  "$seatflow" up --data-dir "$work/up" --port 0 --set http.access_log=false >"$work/up.out" 2>"$work/up.err" &
  up_pid=$!
  for _ in $(seq 100); do grep -q "running on" "$work/up.out" 2>/dev/null && break; sleep 0.05; done
  url="$(grep -o 'http://[^ ]*' "$work/up.out" | head -1)"
  check "up prints its URL" test -n "$url"
  check "up is ready" curl -sf "$url/health/ready" -o /dev/null
  check "up serves metrics" sh -c "curl -sf '$url/metrics' | grep -q seatflow_http_requests_total"
  check "up answers problem+json" sh -c "curl -s -o /dev/null -w '%{http_code} %{content_type}' '$url/api/nope' | grep -qx '404 application/problem+json'"
  check "up serves the web UI at /" sh -c "curl -sf '$url/' | grep -q '<title>Seatflow'"
  check "the trace-conformance route is off by default" sh -c "curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '[]' '$url/debug/trace-conformance' | grep -qx 404"
  # The data folder is the running process's own (database.sqlite_exclusive):
  # another process cannot open its files, and says why.
  run --data-dir "$work/up" migrate --set database.sqlite_busy_timeout=200ms
  check "migrate next to up: fails" test "$status" -ne 0
  check "migrate next to up: says another process holds the file" \
    grep -qF "reservation.db: another process holds it for itself" "$work/err"
  check "up still serves after it" curl -sf "$url/health/ready" -o /dev/null
  # Its memory comes from TCMalloc, not from glibc's malloc.
  check "up allocates through TCMalloc" grep -qF libtcmalloc_minimal "/proc/$up_pid/maps"
  kill -INT "$up_pid"
  wait "$up_pid"
  check "up exits 0 on SIGINT" test $? -eq 0
  check "up created the service databases" test -e "$work/up/reservation.db"

  # Shared (database.sqlite_exclusive = false): migrate runs next to up.
  SEATFLOW_DATABASE_SQLITE_EXCLUSIVE=false \
    "$seatflow" up --data-dir "$work/up" --port 0 \
    --set http.access_log=false >"$work/up.out" 2>"$work/up.err" &
  up_pid=$!
  for _ in $(seq 100); do grep -q "running on" "$work/up.out" 2>/dev/null && break; sleep 0.05; done
  SEATFLOW_DATABASE_SQLITE_EXCLUSIVE=false run --data-dir "$work/up" migrate
  check "shared: migrate next to up succeeds" test "$status" -eq 0
  check "shared: and finds the schema up to date" grep -qF "order: schema is up to date" "$work/out"
  kill -INT "$up_pid"
  wait "$up_pid"
  check "shared: up exits 0 on SIGINT" test $? -eq 0

  # Traced and exported: a request's span reaches Jaeger, flushed at shutdown.
  if [[ -z "${SEATFLOW_TEST_JAEGER_OTLP_URL:-}" || -z "${SEATFLOW_TEST_JAEGER_QUERY_URL:-}" ]]; then
    echo "FAIL: SEATFLOW_TEST_JAEGER_OTLP_URL/QUERY_URL are not set (run scripts/test.sh)"
    exit 1
  fi
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="$SEATFLOW_TEST_JAEGER_OTLP_URL" OTEL_SERVICE_NAME=seatflow-cli \
    SEATFLOW_TRACE_CONFORMANCE_ROUTE=true \
    "$seatflow" up --data-dir "$work/up" --port 0 --set http.access_log=false >"$work/up.out" 2>"$work/up.err" &
  up_pid=$!
  for _ in $(seq 100); do grep -q "running on" "$work/up.out" 2>/dev/null && break; sleep 0.05; done
  url="$(grep -o 'http://[^ ]*' "$work/up.out" | head -1)"
  trace_id="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  tp="00-$trace_id-00f067aa0ba902b7-01"
  curl -s -H "traceparent: $tp" -H 'Content-Type: application/json' \
    -d "[{\"url\": \"$url/health/live\"}]" "$url/debug/trace-conformance" >"$work/conformance.out"
  check "the trace-conformance route calls back when enabled" grep -q '"status":405' "$work/conformance.out"
  kill -INT "$up_pid"
  wait "$up_pid"
  check "up logs that it exports traces" grep -q "exporting traces to" "$work/up.out" "$work/up.err"
  traced() {
    curl -sf "$SEATFLOW_TEST_JAEGER_QUERY_URL/api/v3/traces/$trace_id" >"$work/trace.json" &&
      grep -q 'POST /debug/trace-conformance' "$work/trace.json" &&
      grep -q 'seatflow-cli' "$work/trace.json"
  }
  for _ in $(seq 50); do traced && break; sleep 0.2; done
  check "the request's spans reached Jaeger by shutdown" traced
else
  if [[ -z "${SEATFLOW_TEST_POSTGRES_URL:-}" ]]; then
    echo "FAIL: SEATFLOW_TEST_POSTGRES_URL is not set (run scripts/test.sh)"
    exit 1
  fi
  if [[ -z "${SEATFLOW_TEST_KAFKA_BROKERS:-}" ]]; then
    echo "FAIL: SEATFLOW_TEST_KAFKA_BROKERS is not set (run scripts/test.sh)"
    exit 1
  fi
  export SEATFLOW_DATABASE_BACKEND=postgres SEATFLOW_DATABASE_URL="$SEATFLOW_TEST_POSTGRES_URL"
  export SEATFLOW_BUS_BACKEND=kafka SEATFLOW_BUS_KAFKA_BROKERS="$SEATFLOW_TEST_KAFKA_BROKERS"
  run migrate
  check "migrate on PostgreSQL succeeds" test "$status" -eq 0
  [[ $status -eq 0 ]] || echo "  stderr was: $err"
  check "migrate creates the topics in Kafka" grep -qF "kafka: topic reservation.events is there" "$work/out"
  run topics
  check "topics again leaves them as they are" test "$status" -eq 0

  SEATFLOW_BUS_KAFKA_BROKERS= run topics
  check "kafka without brokers: exit 2" test "$status" -eq 2
  check "kafka without brokers: names the key" one_line_with "'bus.kafka_brokers'"
  run migrate
  check "second migrate on PostgreSQL is up to date" grep -qF "reservation: schema is up to date" "$work/out"

  SEATFLOW_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none" run migrate --service payment
  check "unreachable PostgreSQL: exit 1" test "$status" -eq 1
  check "unreachable PostgreSQL: says so" grep -qF "cannot connect to PostgreSQL" "$work/err"

  SEATFLOW_DATABASE_URL= run migrate
  check "postgres without url: exit 2" test "$status" -eq 2
  check "postgres without url: names the key" one_line_with "'database.url'"
fi

echo "$passes passed, $failures failed"
[[ $failures -eq 0 ]]
