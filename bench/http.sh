#!/usr/bin/env bash
# HTTP throughput: wrk against Seatflow's GET /health/live and against nginx
# serving a static file of the same size, with the same worker threads,
# connections and duration, in one run. Each server is pinned to its own
# cores and wrk to the rest, and each is measured twice (best kept).
#
# Prints seatflow_rps, nginx_rps and, as its last line, http_vs_nginx=<ratio>.
# Environment: THREADS (server workers, default 1), CONNECTIONS (64),
# DURATION (seconds per run, 10).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/bench.sh

# Seatflow, as `seatflow up` runs it, without the access log (nginx's is off too).
sf_port="$(free_port)"
taskset -c "$server_cpus" ./build/seatflow up --data-dir "$work/data" --port "$sf_port" \
  --set http.threads="$threads" --set http.access_log=false --log-level warn >"$work/seatflow.log" 2>&1 &
pids+=($!)

# nginx serving the same bytes from a file.
ng_port="$(free_port)"
mkdir -p "$work/www/health"
printf '{"status":"live"}' >"$work/www/health/live"
cat >"$work/nginx.conf" <<CONF
worker_processes $threads;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
user $(id -un);
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  open_file_cache max=16;
  default_type application/json;
  server {
    listen 127.0.0.1:$ng_port;
    root $work/www;
  }
}
CONF
taskset -c "$server_cpus" nginx -c "$work/nginx.conf" -e "$work/nginx-error.log" &
pids+=($!)

wait_for 15 curl -sf "http://127.0.0.1:$sf_port/health/live" || { cat "$work/seatflow.log"; exit 1; }
wait_for 15 curl -sf "http://127.0.0.1:$ng_port/health/live" || { cat "$work/nginx-error.log"; exit 1; }
[[ "$(curl -s "http://127.0.0.1:$sf_port/health/live")" == "$(curl -s "http://127.0.0.1:$ng_port/health/live")" ]]


rps "http://127.0.0.1:$sf_port/health/live" >/dev/null  # warm up both
rps "http://127.0.0.1:$ng_port/health/live" >/dev/null
sf1="$(rps "http://127.0.0.1:$sf_port/health/live")"
ng1="$(rps "http://127.0.0.1:$ng_port/health/live")"
sf2="$(rps "http://127.0.0.1:$sf_port/health/live")"
ng2="$(rps "http://127.0.0.1:$ng_port/health/live")"
sf="$(best "$sf1" "$sf2")"
ng="$(best "$ng1" "$ng2")"

echo "threads=$threads connections=$connections duration=${duration}s"
echo "seatflow_rps=$sf (runs: $sf1 $sf2)"
echo "nginx_rps=$ng (runs: $ng1 $ng2)"
awk -v a="$sf" -v b="$ng" 'BEGIN { printf "http_vs_nginx=%.3f\n", a / b }'
