#!/usr/bin/env bash
# Seatflow distributed, on this machine: PostgreSQL, Kafka, Jaeger,
# Prometheus, the nginx gateway, and REPLICAS replicas of each service
# (`seatflow serve`), each on loopback. Everything lives in the cluster
# folder: data, logs, the rendered configuration, and what is running.
#
# Usage: scripts/cluster.sh up | down | status
#        scripts/cluster.sh start|stop|kill NAME... [VAR=VALUE...]
#   up       installs and builds what is missing, starts everything, prints
#            where the UI, Jaeger and Prometheus are
#   down     stops everything and deletes the cluster folder
#   status   what runs, and where
#   start    starts the named parts again (after stop or kill); with
#            VAR=VALUE, the services among them run with those settings
#            added to their environment until they are next started
#   stop     stops them gracefully (SIGTERM)
#   kill     kills them (SIGKILL), as a crash would
# NAME is a part (kafka, jaeger, prometheus, nginx, reservation-1, ...), a
# service (reservation: each of its replicas) or `services` (every replica).
#
# Environment:
#   SEATFLOW_CLUSTER_DIR       the cluster folder (./.cluster)
#   SEATFLOW_CLUSTER_PORT      the gateway's port: UI and API (8080)
#   SEATFLOW_CLUSTER_REPLICAS  replicas per service (2)
#   SEATFLOW_*, OTEL_*         passed on to the services at `up`
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
source scripts/lib/common.sh
source scripts/lib/postgres.sh
source scripts/lib/kafka.sh
source scripts/lib/jaeger.sh

dir="$(realpath -m "${SEATFLOW_CLUSTER_DIR:-.cluster}")"
services=(reservation payment order)

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

# ---- parts: a command each, started in the background, tracked by pid -------

# define_part NAME COMMAND...: how NAME runs (in the foreground).
define_part() {
  local name="$1"
  shift
  {
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
  } >"$dir/run/$name.cmd"
}

part_pid() { cat "$dir/run/$1.pid" 2>/dev/null || true; }

part_running() {
  local pid
  pid="$(part_pid "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# start_part NAME [VAR=VALUE...]
start_part() {
  local name="$1"
  shift
  if part_running "$name"; then
    return 0
  fi
  (cd "$root" && exec setsid env "$@" bash "$dir/run/$name.cmd" >>"$dir/logs/$name.log" 2>&1 </dev/null) &
  echo $! >"$dir/run/$name.pid"
}

# stop_part NAME SIGNAL: signals it and waits until it is gone.
stop_part() {
  local name="$1" signal="$2" pid
  pid="$(part_pid "$name")"
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    return 0
  fi
  kill "-$signal" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
  done
}

# The parts NAME stands for.
expand() {
  local name="$1" s i
  case "$name" in
    services)
      for s in "${services[@]}"; do expand "$s"; done
      ;;
    reservation | payment | order)
      for ((i = 1; i <= REPLICAS; i++)); do echo "$name-$i"; done
      ;;
    *)
      if [[ ! -f "$dir/run/$name.cmd" ]]; then
        echo "cluster: no part named '$name'" >&2
        exit 2
      fi
      echo "$name"
      ;;
  esac
}

# Waits until the part answers.
wait_ready() {
  local name="$1"
  case "$name" in
    kafka) wait_for 90 kafka_ready "$KAFKA_PORT" ;;
    jaeger) wait_for 60 curl -sf "http://127.0.0.1:$JAEGER_HEALTH_PORT/status" ;;
    prometheus) wait_for 60 curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" ;;
    nginx) wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$GATEWAY_PORT/" ;;
    *) wait_for 30 curl -sf "http://127.0.0.1:$(service_port "$name")/health/ready" ;;
  esac || {
    echo "cluster: $name did not come up; its log ($dir/logs/$name.log) ends:" >&2
    tail -n 30 "$dir/logs/$name.log" >&2 || true
    return 1
  }
}

# reservation-2 -> its port
service_port() {
  local var="PORT_${1//-/_}"
  echo "${!var}"
}

# ---- up ------------------------------------------------------------------------

up() {
  if [[ -f "$dir/cluster.env" ]]; then
    echo "cluster: $dir is in use; run '$0 down' first" >&2
    exit 1
  fi
  REPLICAS="${SEATFLOW_CLUSTER_REPLICAS:-2}"
  GATEWAY_PORT="${SEATFLOW_CLUSTER_PORT:-8080}"
  scripts/install-deps.sh
  scripts/install-jaeger.sh >/dev/null
  scripts/install-kafka.sh >/dev/null
  scripts/build.sh >/dev/null
  mkdir -p "$dir"/{run,logs,nginx/logs,nginx/tmp,prometheus/targets,prometheus/data}
  chmod 755 "$dir"

  # PostgreSQL runs under pg_ctl, as a database server does.
  pg_start "$dir/postgres"
  local postgres_url="$SEATFLOW_TEST_POSTGRES_URL"
  # A database of its own for each service, on the one server: a NOTIFY
  # wakes every listening connection of its database, so services sharing
  # one would wake each other's outbox relays and saga claimers for nothing
  # (about a tenth of the flash sale's throughput on this machine).
  declare -gA database_url_of=()
  for s in "${services[@]}"; do
    _pg_as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U seatflow "seatflow_$s"
    database_url_of[$s]="postgresql://seatflow@127.0.0.1:$PG_PORT/seatflow_$s"
  done

  kafka_prepare "$dir/kafka"
  define_part kafka "${KAFKA_CMD[@]}"
  jaeger_prepare
  define_part jaeger "${JAEGER_CMD[@]}"
  PROMETHEUS_PORT="$(free_port)"
  cp deploy/prometheus.yml "$dir/prometheus/prometheus.yml"
  define_part prometheus prometheus --config.file="$dir/prometheus/prometheus.yml" \
    --storage.tsdb.path="$dir/prometheus/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --log.level=warn
  for name in kafka jaeger prometheus; do
    start_part "$name"
  done

  # The services' settings, shared by every replica: a session made by one
  # replica is good on the others.
  INTERNAL_PORT="$(free_port)"
  ADMIN_TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  cat >"$dir/seatflow.toml" <<TOML
# The settings of every Seatflow replica in this cluster (scripts/cluster.sh).
# Each service's database.url is in its environment (SEATFLOW_DATABASE_URL):
# a database of its own on the same server.
[database]
backend = "postgres"
pool_size = 8

[bus]
backend = "kafka"
kafka_brokers = "127.0.0.1:$KAFKA_PORT"
partitions = 8

[auth]
session_secret = "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
service_token = "$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
admin_token = "$ADMIN_TOKEN"

[services]
# The gateway's internal listener, which spreads calls over the replicas.
reservation_url = "http://127.0.0.1:$INTERNAL_PORT"
payment_url = "http://127.0.0.1:$INTERNAL_PORT"
TOML

  local s i name port targets="" servers
  declare -gA servers_of=()
  for s in "${services[@]}"; do
    servers=""
    for ((i = 1; i <= REPLICAS; i++)); do
      name="$s-$i"
      port="$(free_port)"
      declare -g "PORT_${name//-/_}=$port"
      servers+="server 127.0.0.1:$port max_fails=1 fail_timeout=5s; "
      targets+="${targets:+,}{\"targets\":[\"127.0.0.1:$port\"],\"labels\":{\"service\":\"$s\",\"replica\":\"$name\"}}"
      # The first reservation replica creates the demo event.
      local demo=false
      [[ "$name" == reservation-1 ]] && demo=true
      define_part "$name" env OTEL_SERVICE_NAME="seatflow-$s" \
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$JAEGER_OTLP_PORT/v1/traces" \
        SEATFLOW_DEMO_EVENT="$demo" SEATFLOW_DATABASE_URL="${database_url_of[$s]}" \
        "$root/build/seatflow" serve "$s" --config "$dir/seatflow.toml" --port "$port"
    done
    servers_of[$s]="$servers"
  done
  echo "[$targets]" >"$dir/prometheus/targets/seatflow.json"

  wait_ready kafka
  for s in "${services[@]}"; do
    SEATFLOW_DATABASE_URL="${database_url_of[$s]}" build/seatflow migrate --service "$s" \
      --config "$dir/seatflow.toml" >>"$dir/logs/migrate.log" 2>&1 || {
      cat "$dir/logs/migrate.log" >&2
      exit 1
    }
  done
  for s in "${services[@]}"; do
    for ((i = 1; i <= REPLICAS; i++)); do
      start_part "$s-$i"
      # The demo event's creator first, alone.
      [[ "$s-$i" == reservation-1 ]] && wait_ready reservation-1
    done
  done

  GATEWAY_LISTEN="127.0.0.1:$GATEWAY_PORT" INTERNAL_LISTEN="127.0.0.1:$INTERNAL_PORT" \
    UI_ROOT="$root/web/dist" JAEGER_UI_URL="http://127.0.0.1:$JAEGER_QUERY_PORT" \
    RESERVATION_SERVERS="${servers_of[reservation]}" PAYMENT_SERVERS="${servers_of[payment]}" \
    ORDER_SERVERS="${servers_of[order]}" \
    envsubst '${GATEWAY_LISTEN} ${INTERNAL_LISTEN} ${UI_ROOT} ${JAEGER_UI_URL} ${RESERVATION_SERVERS} ${PAYMENT_SERVERS} ${ORDER_SERVERS}' \
    <deploy/nginx.conf >"$dir/nginx/nginx.conf"
  define_part nginx nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/logs/error.log" \
    -g "daemon off;"
  start_part nginx

  {
    echo "# Written by scripts/cluster.sh up."
    local v vars=(REPLICAS GATEWAY_PORT INTERNAL_PORT PROMETHEUS_PORT KAFKA_PORT KAFKA_CLASSPATH
                  PG_DATA PG_PORT JAEGER_OTLP_PORT JAEGER_QUERY_PORT JAEGER_HEALTH_PORT ADMIN_TOKEN)
    for s in "${services[@]}"; do
      for ((i = 1; i <= REPLICAS; i++)); do vars+=("PORT_${s}_$i"); done
    done
    for v in "${vars[@]}"; do printf '%s=%q\n' "$v" "${!v}"; done
    echo "SEATFLOW_CLUSTER_URL=http://127.0.0.1:$GATEWAY_PORT"
    echo "SEATFLOW_CLUSTER_INTERNAL_URL=http://127.0.0.1:$INTERNAL_PORT"
    echo "SEATFLOW_CLUSTER_POSTGRES_URL=$postgres_url"
    for s in "${services[@]}"; do
      echo "SEATFLOW_CLUSTER_DATABASE_URL_${s^^}=${database_url_of[$s]}"
    done
    echo "SEATFLOW_CLUSTER_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
    echo "SEATFLOW_CLUSTER_JAEGER_QUERY_URL=http://127.0.0.1:$JAEGER_QUERY_PORT"
    echo "SEATFLOW_CLUSTER_PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT"
    echo "SEATFLOW_CLUSTER_ADMIN_TOKEN=$ADMIN_TOKEN"
  } >"$dir/cluster.env"

  for name in jaeger prometheus $(expand services) nginx; do
    wait_ready "$name"
  done
  where
}

where() {
  cat <<EOF
Seatflow cluster is up ($REPLICAS replicas per service; folder $dir):
  UI and API   http://127.0.0.1:$GATEWAY_PORT
  Jaeger       http://127.0.0.1:$JAEGER_QUERY_PORT
  Prometheus   http://127.0.0.1:$PROMETHEUS_PORT
  admin token  $ADMIN_TOKEN
Stop it with: $0 down
EOF
}

load() {
  if [[ ! -f "$dir/cluster.env" ]]; then
    echo "cluster: no cluster in $dir (run '$0 up')" >&2
    exit 1
  fi
  source "$dir/cluster.env"
}

down() {
  if [[ ! -d "$dir/run" ]]; then
    echo "cluster: nothing in $dir" >&2
    return 0
  fi
  local cmd
  # Services first, so that they leave their consumer groups while Kafka runs.
  for cmd in "$dir"/run/{reservation,payment,order}-*.cmd "$dir"/run/*.cmd; do
    [[ -f "$cmd" ]] && stop_part "$(basename "$cmd" .cmd)" TERM
  done
  if [[ -f "$dir/cluster.env" ]]; then
    source "$dir/cluster.env"
    pg_stop
  fi
  rm -rf "$dir"
  log "cluster stopped"
}

status() {
  load
  local cmd name state
  for cmd in "$dir"/run/*.cmd; do
    name="$(basename "$cmd" .cmd)"
    state=stopped
    part_running "$name" && state="running (pid $(part_pid "$name"))"
    printf '  %-14s %s\n' "$name" "$state"
  done
  if _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    printf '  %-14s %s\n' postgres "running (port $PG_PORT)"
  else
    printf '  %-14s %s\n' postgres stopped
  fi
  where
}

command="${1:-}"
[[ -n "$command" ]] || usage
shift
case "$command" in
  up) up ;;
  down) down ;;
  status) status ;;
  start | stop | kill)
    load
    names=()
    settings=()
    for arg in "$@"; do
      if [[ "$arg" == *=* ]]; then settings+=("$arg"); else names+=("$arg"); fi
    done
    [[ ${#names[@]} -gt 0 ]] || usage
    parts=()
    for n in "${names[@]}"; do
      mapfile -t -O "${#parts[@]}" parts < <(expand "$n")
    done
    for p in "${parts[@]}"; do
      case "$command" in
        start) start_part "$p" "${settings[@]}" ;;
        stop) stop_part "$p" TERM ;;
        kill) stop_part "$p" KILL ;;
      esac
    done
    if [[ "$command" == start ]]; then
      for p in "${parts[@]}"; do wait_ready "$p"; done
    fi
    ;;
  *) usage ;;
esac
