# Shared set-up of the HTTP benchmarks (bench/http.sh, bench/tracing.sh).
# Source it after common.sh with THREADS, CONNECTIONS, DURATION (optional) set;
# it defines threads, connections, duration, server_cpus (the first THREADS
# cores) and client_cpus (the rest), a work folder $work removed on exit
# with every pid in $pids killed, and:
#   rps URL         requests per second of one wrk run against URL
#   best N...       the largest of the numbers

threads="${THREADS:-1}"
connections="${CONNECTIONS:-64}"
duration="${DURATION:-10}"
cores="$(nproc)"
server_cpus="0-$((threads - 1))"
client_cpus="$threads-$((cores - 1))"
if ((threads >= cores)); then client_cpus="0-$((cores - 1))"; fi

scripts/install-deps.sh
scripts/build.sh >/dev/null

work="$(mktemp -d -t seatflow-bench.XXXXXX)"
chmod 755 "$work"
pids=()
_bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap _bench_cleanup EXIT

rps() {
  taskset -c "$client_cpus" wrk -t "$threads" -c "$connections" -d "${duration}s" "$1" |
    awk '/^Requests\/sec:/ { print $2 }'
}
best() { printf '%s\n' "$@" | sort -g | tail -1; }
