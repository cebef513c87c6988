#!/usr/bin/env bash
# The cost of tracing: wrk against `seatflow up` with every request traced
# (sampler always_on) and every span exported over OTLP/HTTP, and against
# the same server with tracing off (always_off: contexts still propagate,
# nothing is recorded), in one run, in ROUNDS rounds.
#
# Paired (the default): in each round both servers are loaded at once, each
# by its own wrk, on the same server core. Each runs in a session of its own,
# so the kernel's autogroups give the two processes equal shares of that
# core whatever their thread counts (the exporter's thread is the traced
# server's own cost). The machine's slow and fast spells then fall on both
# alike, and a round's ratio of throughputs is the ratio of the CPU each
# request costs. PAIRED=0 (or a kernel without autogroups) runs the two in
# turn instead: one short run of each, back to back, each going first in
# every other round; spells of the machine that last a second move a round
# by tens of points that way.
#
# The OTLP receiver is nginx answering 200 with an empty body (an empty
# protobuf ExportTraceServiceResponse: all accepted) to every POST
# /v1/traces, so the figure is Seatflow's own cost (making, batching,
# encoding and sending the spans in the default http/protobuf), not the
# receiver's. The exporter's queue is raised so that no
# span is dropped; the script prints how many were exported and dropped.
#
# Prints traced_rps and untraced_rps (means of the runs); paired, also
# cpu_per_request_overhead, the median of the rounds' extra CPU time per
# request of the traced server (all its threads, from /proc), which moves
# less from round to round than the throughputs; the range of the rounds'
# overheads and, as its last line, tracing_overhead=<fraction of
# throughput lost>, the median of the rounds' overheads (a round's is
# 1 - traced/untraced). Goal: <= 0.05.
# Environment: THREADS (server workers, default 1), CONNECTIONS (64),
# DURATION (seconds per run, 2), ROUNDS (10), PAIRED (1).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-2}"
rounds="${ROUNDS:-10}"
paired="${PAIRED:-1}"
source scripts/lib/common.sh
source scripts/lib/bench.sh

# The OTLP sink.
sink_port="$(free_port)"
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
user $(id -un);
events { worker_connections 1024; }
http {
  access_log off;
  client_body_buffer_size 4m;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:$sink_port;
    location = /v1/traces { default_type application/x-protobuf; return 200 ''; }
  }
}
CONF
taskset -c "$client_cpus" nginx -c "$work/nginx.conf" -e "$work/nginx-error.log" &
pids+=($!)

if [[ "$paired" == 1 && "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" != 1 ]]; then
  echo "the kernel's autogroups are off: running the two servers in turn" >&2
  paired=0
fi

start_seatflow() {  # start_seatflow NAME PORT ENV...
  local name="$1" port="$2"
  shift 2
  # setsid: a session, and so an autogroup, of its own (it does not fork,
  # so $! is the server).
  setsid env "$@" taskset -c "$server_cpus" ./build/seatflow up --data-dir "$work/$name" --port "$port" \
    --set http.threads="$threads" --set http.access_log=false --log-level warn \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  server_pid=$!
}
on_port="$(free_port)"
off_port="$(free_port)"
start_seatflow traced "$on_port" OTEL_TRACES_SAMPLER=always_on \
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$sink_port/v1/traces" \
  OTEL_BSP_MAX_QUEUE_SIZE=262144 OTEL_BSP_SCHEDULE_DELAY=200
on_pid="$server_pid"
start_seatflow untraced "$off_port" OTEL_TRACES_SAMPLER=always_off
off_pid="$server_pid"
# A process's CPU time so far, all its threads, in nanoseconds.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }

wait_for 15 curl -sf "http://127.0.0.1:$on_port/health/live" || { cat "$work/traced.log"; exit 1; }
wait_for 15 curl -sf "http://127.0.0.1:$off_port/health/live" || { cat "$work/untraced.log"; exit 1; }

on_url="http://127.0.0.1:$on_port/health/live"
off_url="http://127.0.0.1:$off_port/health/live"

rps "$on_url" >/dev/null  # warm up both
rps "$off_url" >/dev/null
on_runs=()
off_runs=()
cpu_overheads=()
for ((round = 0; round < rounds; round++)); do
  if [[ "$paired" == 1 ]]; then
    # Each wrk starts first in half the rounds.
    urls=("$off_url" "$on_url")
    files=("$work/off.rps" "$work/on.rps")
    first=$((round % 2))
    on_cpu="$(cpu_ns "$on_pid")"
    off_cpu="$(cpu_ns "$off_pid")"
    rps "${urls[first]}" >"${files[first]}" &
    first_wrk=$!
    rps "${urls[1 - first]}" >"${files[1 - first]}" &
    wait "$first_wrk" $!
    off_runs+=("$(cat "$work/off.rps")")
    on_runs+=("$(cat "$work/on.rps")")
    # Each server's CPU per request in the round (both ran for the same
    # time, so requests per second stand for requests).
    cpu_overheads+=("$(awk -v on="$(($(cpu_ns "$on_pid") - on_cpu))" \
      -v off="$(($(cpu_ns "$off_pid") - off_cpu))" -v on_rps="${on_runs[-1]}" \
      -v off_rps="${off_runs[-1]}" 'BEGIN { print (on / on_rps) / (off / off_rps) - 1 }')")
  elif ((round % 2 == 0)); then  # each goes first in half the rounds
    off_runs+=("$(rps "$off_url")")
    on_runs+=("$(rps "$on_url")")
  else
    on_runs+=("$(rps "$on_url")")
    off_runs+=("$(rps "$off_url")")
  fi
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s / NR }'; }
on="$(mean "${on_runs[@]}")"
off="$(mean "${off_runs[@]}")"

sleep 1  # the last batch leaves within the schedule delay
spans() { curl -s "http://127.0.0.1:$on_port/metrics" | awk -v o="$1" '$0 ~ "^seatflow_trace_spans_total\\{outcome=\"" o "\"\\}" { printf "%d", $2 }'; }
echo "threads=$threads connections=$connections rounds=$rounds duration=${duration}s paired=$paired"
echo "spans_exported=$(spans exported) spans_dropped=$(spans dropped) spans_failed=$(spans failed)"
echo "traced_rps=$on (runs: ${on_runs[*]})"
echo "untraced_rps=$off (runs: ${off_runs[*]})"
if ((${#cpu_overheads[@]} > 0)); then
  # The same comparison by each server's CPU time per request, which moves
  # less from round to round than the throughputs do.
  printf '%s\n' "${cpu_overheads[@]}" | sort -g | awk '
    { o[NR] = $1 }
    END {
      m = NR % 2 ? o[(NR + 1) / 2] : (o[NR / 2] + o[NR / 2 + 1]) / 2
      printf "cpu_per_request_overhead=%.3f (rounds %.3f..%.3f)\n", m, o[1], o[NR]
    }'
fi
# The overhead of each round (its two runs, at once or back to back), and
# the median of those: a round that a slow spell of the machine hit moves the
# mean of all runs, not the median of the rounds.
for ((round = 0; round < rounds; round++)); do
  echo "${on_runs[round]} ${off_runs[round]}"
done | awk '{ print 1 - $1 / $2 }' | sort -g | awk '
  { o[NR] = $1 }
  END {
    m = NR % 2 ? o[(NR + 1) / 2] : (o[NR / 2] + o[NR / 2 + 1]) / 2
    printf "round_overheads=%.3f..%.3f\n", o[1], o[NR]
    if (m < 0) m = 0
    printf "tracing_overhead=%.3f\n", m
  }'
