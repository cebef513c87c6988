#!/usr/bin/env bash
# Fetches Apache Kafka's broker and tools jars from Maven Central with Maven,
# and caches them. Prints the folder of jars (a classpath of `<dir>/*`). Fast
# when it is cached.
#
# The kafka_2.13 POM leaves the logging binding out, so slf4j-reload4j and
# reload4j are added; kafka-tools brings ProducerPerformance for
# bench/relay.sh. Kafka stays on 3.9.x: librdkafka 2.0.2 is not fully
# compatible with 4.x.
#
# Usage: scripts/install-kafka.sh            (prints the jar folder)
# Environment: SEATFLOW_CACHE_DIR (default ~/.cache/seatflow)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

KAFKA_VERSION=3.9.1
SLF4J_VERSION=1.7.36
RELOAD4J_VERSION=1.2.25
cache="${SEATFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/seatflow}"
libs="$cache/kafka-$KAFKA_VERSION"

if [[ -f "$libs/.complete" ]]; then
  echo "$libs"
  exit 0
fi

log "fetching Apache Kafka $KAFKA_VERSION from Maven Central (once)"
work="$(mktemp -d -t seatflow-kafka.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.seatflow</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>$RELOAD4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
rm -rf "$libs.tmp"
mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
  -DoutputDirectory="$libs.tmp" -DincludeScope=runtime >&2
rm -rf "$libs"
mv "$libs.tmp" "$libs"
touch "$libs/.complete"
echo "$libs"
