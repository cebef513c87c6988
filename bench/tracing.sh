#!/usr/bin/env bash
# The cost of tracing: wrk against `seatflow up` with every request traced
# (sampler always_on) and every span exported over OTLP/HTTP, and against
# the same server with tracing off (always_off: contexts still propagate,
# nothing is recorded), in one run, in ROUNDS rounds shared out among PAIRS
# pairs of servers started afresh: one process runs a few percent faster or
# slower than the next of the same build (where its memory happens to lie),
# and the median of rounds from several pairs is not one pair's luck.
#
# Paired (the default): in each round both servers are loaded at once, each
# by its own wrk, on the same server core. Each runs in a session of its own,
# so the kernel's autogroups give the two processes about equal shares of
# that core whatever their thread counts (the exporter's thread is the
# traced server's own cost). The machine's slow and fast spells then fall on
# both alike. The shares are not quite equal, though: in a round of two
# seconds either server may get 0.1 s more of the core than the other, which
# moves that round's ratio of throughputs by 7 points either way. So a
# round's throughputs are taken per second of CPU each server got (its
# requests over its threads' CPU time, from /proc): the throughput each
# would have with the core to itself. PAIRED=0 (or a kernel without
# autogroups) runs the two in turn instead: one short run of each, back to
# back, each going first in every other round; spells of the machine that
# last a second move a round by tens of points that way.
#
# The OTLP receiver is nginx answering 200 with an empty body (an empty
# protobuf ExportTraceServiceResponse: all accepted) to every POST
# /v1/traces, so the figure is Seatflow's own cost (making, batching,
# encoding and sending the spans in the default http/protobuf), not the
# receiver's. The exporter is configured for the rate it sees (some 40,000
# spans a second): a queue large enough that no span is dropped (the script
# prints how many were exported and dropped), and batches of 2,048 spans
# instead of the default 512, a POST every 50 ms rather than every 13 ms
# (1.3 % less CPU per traced request, paired against 512 in ten rounds).
#
# Prints traced_rps and untraced_rps (means of the runs); paired, also
# cpu_per_request_overhead, the median of the rounds' extra CPU time per
# request of the traced server, and raw_overhead, the median and range of
# the rounds' 1 - traced/untraced throughputs as measured (the shares of the
# core as they fell). The last line is tracing_overhead=<fraction of
# throughput lost>, the median of the rounds' overheads: paired, a round's
# is 1 - traced/untraced throughput per second of CPU, which is
# 1 - 1/(1 + the round's CPU per request overhead); in turn, it is
# 1 - traced/untraced throughput. Goal: <= 0.05.
# Environment: THREADS (server workers, default 1), CONNECTIONS (64),
# DURATION (seconds per run, 2), ROUNDS (12), PAIRS (3), PAIRED (1).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-2}"
rounds="${ROUNDS:-12}"
pairs="${PAIRS:-3}"
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
# A process's CPU time so far, all its threads, in nanoseconds.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }
# What the traced server's exporter did with its spans: exported, dropped, failed.
spans() { curl -s "http://127.0.0.1:$on_port/metrics" | awk -v o="$1" '$0 ~ "^seatflow_trace_spans_total\\{outcome=\"" o "\"\\}" { printf "%d", $2 }'; }
exported=0
dropped=0
failed=0

# Starts a fresh pair of servers, the traced and the untraced, and warms
# them up.
start_pair() {  # start_pair N
  on_port="$(free_port)"
  off_port="$(free_port)"
  start_seatflow "traced-$1" "$on_port" OTEL_TRACES_SAMPLER=always_on \
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$sink_port/v1/traces" \
    OTEL_BSP_MAX_QUEUE_SIZE=262144 OTEL_BSP_SCHEDULE_DELAY=200 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2048
  on_pid="$server_pid"
  start_seatflow "untraced-$1" "$off_port" OTEL_TRACES_SAMPLER=always_off
  off_pid="$server_pid"
  wait_for 15 curl -sf "http://127.0.0.1:$on_port/health/live" || { cat "$work/traced-$1.log"; exit 1; }
  wait_for 15 curl -sf "http://127.0.0.1:$off_port/health/live" || { cat "$work/untraced-$1.log"; exit 1; }
  on_url="http://127.0.0.1:$on_port/health/live"
  off_url="http://127.0.0.1:$off_port/health/live"
  rps "$on_url" >/dev/null  # warm up both
  rps "$off_url" >/dev/null
}
# Counts the traced server's spans, then stops both.
stop_pair() {
  sleep 1  # the last batch leaves within the schedule delay
  local e d f
  e="$(spans exported)"
  d="$(spans dropped)"
  f="$(spans failed)"
  exported=$((exported + ${e:-0}))
  dropped=$((dropped + ${d:-0}))
  failed=$((failed + ${f:-0}))
  kill "$on_pid" "$off_pid"
  wait "$on_pid" "$off_pid" 2>/dev/null || true
}

# Requests one wrk run completed: the count, not wrk's requests per second,
# which it takes over its own running time; the CPU time below is taken over
# the round, which holds both runs whole.
requests() {
  taskset -c "$client_cpus" wrk -t "$threads" -c "$connections" -d "${duration}s" "$1" |
    awk '/ requests in / { print $1 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f..%.3f", lo, hi }'; }
on_runs=()
off_runs=()
overheads=()      # each round's tracing overhead
cpu_overheads=()  # paired: each round's extra CPU per request
pair=-1
for ((round = 0; round < rounds; round++)); do
  # The rounds are shared out among the pairs of servers, in turn.
  if ((round * pairs / rounds != pair)); then
    ((pair < 0)) || stop_pair
    pair=$((round * pairs / rounds))
    start_pair "$pair"
  fi
  if [[ "$paired" == 1 ]]; then
    # Each wrk starts first in half the rounds.
    urls=("$off_url" "$on_url")
    files=("$work/off.n" "$work/on.n")
    first=$((round % 2))
    on_cpu="$(cpu_ns "$on_pid")"
    off_cpu="$(cpu_ns "$off_pid")"
    requests "${urls[first]}" >"${files[first]}" &
    first_wrk=$!
    requests "${urls[1 - first]}" >"${files[1 - first]}" &
    wait "$first_wrk" $!
    on_cpu="$(($(cpu_ns "$on_pid") - on_cpu))"
    off_cpu="$(($(cpu_ns "$off_pid") - off_cpu))"
    on_n="$(cat "$work/on.n")"
    off_n="$(cat "$work/off.n")"
    on_runs+=("$(awk -v n="$on_n" -v d="$duration" 'BEGIN { printf "%.2f", n / d }')")
    off_runs+=("$(awk -v n="$off_n" -v d="$duration" 'BEGIN { printf "%.2f", n / d }')")
    # Requests per second of CPU, and CPU per request, of each server.
    overheads+=("$(awk -v on="$on_cpu" -v off="$off_cpu" -v on_n="$on_n" -v off_n="$off_n" \
      'BEGIN { print 1 - (on_n / on) / (off_n / off) }')")
    cpu_overheads+=("$(awk -v on="$on_cpu" -v off="$off_cpu" -v on_n="$on_n" -v off_n="$off_n" \
      'BEGIN { print (on / on_n) / (off / off_n) - 1 }')")
  else
    if ((round % 2 == 0)); then  # each goes first in half the rounds
      off_runs+=("$(rps "$off_url")")
      on_runs+=("$(rps "$on_url")")
    else
      on_runs+=("$(rps "$on_url")")
      off_runs+=("$(rps "$off_url")")
    fi
    overheads+=("$(awk -v on="${on_runs[-1]}" -v off="${off_runs[-1]}" 'BEGIN { print 1 - on / off }')")
  fi
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s / NR }'; }
on="$(mean "${on_runs[@]}")"
off="$(mean "${off_runs[@]}")"

stop_pair
echo "threads=$threads connections=$connections rounds=$rounds pairs=$pairs duration=${duration}s paired=$paired"
echo "spans_exported=$exported spans_dropped=$dropped spans_failed=$failed"
echo "traced_rps=$on (runs: ${on_runs[*]})"
echo "untraced_rps=$off (runs: ${off_runs[*]})"
if [[ "$paired" == 1 ]]; then
  printf 'cpu_per_request_overhead=%.3f (rounds %s)\n' \
    "$(printf '%s\n' "${cpu_overheads[@]}" | median)" "$(printf '%s\n' "${cpu_overheads[@]}" | range)"
  raw=()
  for ((round = 0; round < rounds; round++)); do
    raw+=("$(awk -v on="${on_runs[round]}" -v off="${off_runs[round]}" 'BEGIN { print 1 - on / off }')")
  done
  printf 'raw_overhead=%.3f (rounds %s)\n' \
    "$(printf '%s\n' "${raw[@]}" | median)" "$(printf '%s\n' "${raw[@]}" | range)"
fi
# The median of the rounds' overheads: a round that a slow spell of the
# machine hit moves the mean of all runs, not the median of the rounds.
printf 'round_overheads=%s\n' "$(printf '%s\n' "${overheads[@]}" | range)"
printf 'tracing_overhead=%.3f\n' "$(printf '%s\n' "${overheads[@]}" | median | awk '{ print $1 < 0 ? 0 : $1 }')"
