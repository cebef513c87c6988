#!/usr/bin/env bash
# Outbox relay throughput into Kafka against Kafka's own producer benchmark,
# in one run, on one throwaway broker (and PostgreSQL for the outbox).
#
# - Kafka's figure: org.apache.kafka.tools.ProducerPerformance sending
#   MESSAGES records of 1 KiB with acks=all and idempotence, as fast as it can.
# - Seatflow's figure: the OutboxRelay publishing MESSAGES outbox rows of
#   1 KiB from PostgreSQL (written beforehand, not timed) to the same broker
#   and marking them sent, with the default batch size (outbox.batch_size).
# - The embedded log's publish-to-consume throughput, for reference.
#
# Prints kafka_perf_msgs_per_s, relay_msgs_per_s, embedded_log_msgs_per_s
# and, as its last line, relay_vs_kafka_perf=<ratio>. Goal: >= 0.5.
# Environment: MESSAGES (default 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/postgres.sh
source scripts/lib/kafka.sh
source scripts/lib/bench.sh

messages="${MESSAGES:-200000}"
pg_start "$work/postgres" >/dev/null
kafka_start "$work/kafka" >/dev/null
trap 'kafka_stop; pg_stop; _bench_cleanup' EXIT

java -cp "$KAFKA_CLASSPATH" org.apache.kafka.tools.TopicCommand \
  --bootstrap-server "$SEATFLOW_TEST_KAFKA_BROKERS" --create --topic perf \
  --partitions 8 --replication-factor 1 >/dev/null
log "Kafka's ProducerPerformance: $messages records of 1 KiB"
perf="$(java -cp "$KAFKA_CLASSPATH" org.apache.kafka.tools.ProducerPerformance \
  --topic perf --num-records "$messages" --record-size 1024 --throughput -1 \
  --producer-props bootstrap.servers="$SEATFLOW_TEST_KAFKA_BROKERS" acks=all \
  enable.idempotence=true 2>/dev/null | tail -1)"
echo "$perf" >&2
kafka_rate="$(sed -E 's/.* ([0-9.]+) records\/sec.*/\1/' <<<"$perf")"

log "Seatflow's outbox relay: $messages rows of 1 KiB"
relay_out="$(build/bench/relay_benchmark relay --postgres "$SEATFLOW_TEST_POSTGRES_URL" \
  --kafka "$SEATFLOW_TEST_KAFKA_BROKERS" --topic relay --messages "$messages" \
  --batch 1000 2>/dev/null)"
grep -v '=' <<<"$relay_out" >&2
relay_rate="$(sed -n 's/^relay_msgs_per_s=//p' <<<"$relay_out")"

log "the embedded log, publish to consume"
log_out="$(build/bench/relay_benchmark log --dir "$work" --messages "$messages" --batch 1000 2>/dev/null)"
grep -v '=' <<<"$log_out" >&2

printf 'kafka_perf_msgs_per_s=%.0f\n' "$kafka_rate"
echo "relay_msgs_per_s=$relay_rate"
grep '^embedded_log_msgs_per_s=' <<<"$log_out"
python3 -c "print(f'relay_vs_kafka_perf={$relay_rate / $kafka_rate:.2f}')"
