# A throwaway single-node Apache Kafka (KRaft, combined broker and
# controller) on free loopback ports, its data in a folder. Source it after
# common.sh, then:
#   kafka_prepare DIR fetches Kafka if needed (scripts/install-kafka.sh),
#                     writes its configuration and formats the storage; sets
#                     KAFKA_PORT, KAFKA_CLASSPATH and KAFKA_CMD (the command
#                     that runs the node, in the foreground)
#   kafka_start DIR   kafka_prepare, then starts the node and waits until it
#                     answers; exports SEATFLOW_TEST_KAFKA_BROKERS (host:port)
#   kafka_stop        stops it
#
# Topics are never created automatically (auto.create.topics.enable=false):
# Seatflow creates its own, as in production.

kafka_prepare() {
  local dir="$1" libs port controller_port
  libs="$(scripts/install-kafka.sh)"
  mkdir -p "$dir/data"
  port="$(free_port)"
  controller_port="$(free_port)"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=9223372036854775807
PROPS
  cat >"$dir/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
PROPS
  export KAFKA_CLASSPATH="$libs/*"
  local java_opts=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
                   "-Dlog4j.configuration=file:$dir/log4j.properties")
  java "${java_opts[@]}" -cp "$KAFKA_CLASSPATH" kafka.tools.StorageTool format \
    -t "$(java -cp "$KAFKA_CLASSPATH" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
    -c "$dir/server.properties" >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; return 1; }
  KAFKA_CMD=(java "${java_opts[@]}" -cp "$KAFKA_CLASSPATH" kafka.Kafka "$dir/server.properties")
  KAFKA_PORT="$port"
}

kafka_start() {
  local dir="$1"
  kafka_prepare "$dir" || return 1
  "${KAFKA_CMD[@]}" >"$dir/stdout.log" 2>&1 &
  KAFKA_PID=$!
  if ! wait_for 90 kafka_ready "$KAFKA_PORT"; then
    cat "$dir/stdout.log" "$dir/kafka.log" >&2 2>/dev/null || true
    return 1
  fi
  export SEATFLOW_TEST_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
  log "Kafka on $SEATFLOW_TEST_KAFKA_BROKERS"
}

# The broker answers a metadata request.
kafka_ready() {
  java -cp "$KAFKA_CLASSPATH" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$1" --list >/dev/null 2>&1
}

kafka_stop() {
  if [[ -n "${KAFKA_PID:-}" ]]; then
    kill "$KAFKA_PID" 2>/dev/null || true
    wait "$KAFKA_PID" 2>/dev/null || true
    KAFKA_PID=
  fi
}
