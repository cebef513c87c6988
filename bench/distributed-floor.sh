#!/usr/bin/env bash
# The floor of a distributed purchase on this machine: what the two parts a
# purchase cannot do without cost when they do nothing else, measured here,
# against the CPU that the goal of bench/flash-sale.sh --mode distributed
# leaves to a purchase.
#
# A purchase through the gateway is at least:
#   - WRITES write transactions on PostgreSQL (6: the hold; the order; the
#     authorization; the order confirming, with order.confirmed; the seats
#     sold, with seats.confirmed; the order completed), each at least a
#     guarded single-row UPDATE and an outbox INSERT. Its floor: pgbench
#     (prepared statements, BEGIN + UPDATE + INSERT + COMMIT in one
#     pipeline, 8 clients, cheaper per transaction than 64) on a PostgreSQL
#     set up as the cluster's; and, for services that would merge the writes
#     of ten purchases into one transaction, ten such pairs to a transaction.
#   - REQUESTS HTTP requests through nginx (6: session, seat map, hold, order,
#     and the order service's hold check and authorization on the gateway's
#     internal listener). Its floor: wrk through an nginx proxy (upstream
#     keep-alive, as deploy/nginx.conf) to `seatflow up`'s GET /health/live,
#     the cheapest route there is.
# Each floor is the machine's busy CPU (/proc/stat: user, nice, system, irq,
# softirq; the client's share included, as the load generator's is in the
# flash sale) divided by the transactions or requests done. Kafka, the
# consumers, the relays' marks, the reads, the SSE pushes, the JSON bodies,
# the services' own work and the trace export are left out: each adds to
# the floor.
#
# Prints the floor of each part in µs, then floor_ms_per_purchase and
# batched_floor_ms_per_purchase, budget_ms_per_purchase (the cores' CPU
# time per second divided by GOAL purchases per second), and
# max_purchases_per_s_at_floor and, last,
# max_purchases_per_s_at_batched_floor=<n>: the rates at which a purchase
# costing only its floor would fill every core.
# Environment: GOAL (1500), WRITES (6), REQUESTS (6), DURATION (seconds per
# measurement, 15).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15}"
source scripts/lib/common.sh
source scripts/lib/bench.sh  # installs, builds; $work and $pids, cleaned up on exit
source scripts/lib/postgres.sh
source scripts/lib/up.sh

goal="${GOAL:-1500}"
writes="${WRITES:-6}"
requests="${REQUESTS:-6}"
trap 'pg_stop; _bench_cleanup' EXIT

busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
# µs of busy CPU per unit: per_unit_us TICKS_BEFORE TICKS_AFTER UNITS
per_unit_us() {
  python3 -c "import os; print(f'{($2 - $1) / os.sysconf(\"SC_CLK_TCK\") * 1e6 / $3:.1f}')"
}

# PostgreSQL.
pg_start "$work/postgres" >/dev/null
pg=(-h 127.0.0.1 -p "$PG_PORT" -U seatflow)
createdb "${pg[@]}" floor
psql "${pg[@]}" -d floor -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE seats (id integer PRIMARY KEY, version bigint NOT NULL DEFAULT 0);
INSERT INTO seats (id) SELECT g FROM generate_series(1, 100000) g;
CREATE TABLE outbox (seq bigserial PRIMARY KEY, id uuid NOT NULL, payload text NOT NULL,
                     created_at timestamptz NOT NULL DEFAULT now());
SQL
psql "${pg[@]}" -d floor -qc "VACUUM ANALYZE"
# pg_write_us PAIRS CLIENTS: µs of busy CPU per UPDATE + INSERT pair, PAIRS
# pairs to a transaction sent in one pipeline, from CLIENTS clients.
pg_write_us() {
  local pairs="$1" clients="$2" script="$work/write-$1.sql" before after transactions
  {
    for ((i = 1; i <= pairs; i++)); do echo "\\set id$i random(1, 100000)"; done
    echo '\startpipeline'
    echo 'BEGIN;'
    for ((i = 1; i <= pairs; i++)); do
      echo "UPDATE seats SET version = version + 1 WHERE id = :id$i AND version >= 0;"
      echo "INSERT INTO outbox (id, payload) VALUES (gen_random_uuid(), repeat('x', 200));"
    done
    echo 'COMMIT;'
    echo '\endpipeline'
  } >"$script"
  pgbench "${pg[@]}" -M prepared -c "$clients" -j 2 -T 3 -f "$script" floor >/dev/null 2>&1
  before="$(busy_ticks)"
  transactions="$(pgbench "${pg[@]}" -M prepared -c "$clients" -j 2 -T "$duration" -f "$script" \
    floor 2>/dev/null | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')"
  after="$(busy_ticks)"
  per_unit_us "$before" "$after" "$((transactions * pairs))"
}
write_us="$(pg_write_us 1 8)"
echo "postgres_write_transaction_us=$write_us (one write to a transaction, 8 clients)"
batched_write_us="$(pg_write_us 10 8)"
echo "postgres_batched_write_us=$batched_write_us (ten writes to a transaction, 8 clients)"
pg_stop

# HTTP through nginx.
up_start "$work"
pids+=("$UP_PID")
upstream="${UP_URL#http://}"
gateway_port="$(free_port)"
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
user $(id -un);
events { worker_connections 4096; }
http {
  access_log off;
  upstream seatflow { server $upstream; keepalive 64; }
  server {
    listen 127.0.0.1:$gateway_port;
    location / {
      proxy_pass http://seatflow;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
pids+=($!)
url="http://127.0.0.1:$gateway_port/health/live"
wait_for 15 curl -sf "$url"
wrk -t 2 -c 64 -d 3s "$url" >/dev/null
before="$(busy_ticks)"
done_requests="$(wrk -t 2 -c 64 -d "${duration}s" "$url" |
  sed -n 's/^ *\([0-9]*\) requests in .*/\1/p')"
after="$(busy_ticks)"
request_us="$(per_unit_us "$before" "$after" "$done_requests")"
echo "gateway_request_us=$request_us ($done_requests requests)"

python3 - "$write_us" "$batched_write_us" "$request_us" "$writes" "$requests" "$goal" \
  "$(nproc)" <<'PY'
import sys
write_us, batched_us, request_us = map(float, sys.argv[1:4])
writes, requests, goal, cores = map(int, sys.argv[4:8])
budget_ms = cores * 1000 / goal
floors = {}
for name, per_write in (("floor", write_us), ("batched_floor", batched_us)):
    floors[name] = (writes * per_write + requests * request_us) / 1000
    print(f"{name}_ms_per_purchase={floors[name]:.3f} "
          f"({writes} x {per_write} + {requests} x {request_us} us)")
print(f"budget_ms_per_purchase={budget_ms:.3f} ({cores} cores at {goal} purchases/s)")
print(f"max_purchases_per_s_at_floor={cores * 1000 / floors['floor']:.0f}")
print(f"max_purchases_per_s_at_batched_floor={cores * 1000 / floors['batched_floor']:.0f}")
PY
