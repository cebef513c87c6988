// The Kafka adapter of the Bus port, on librdkafka.
//
// Producer: idempotent (enable.idempotence, hence acks=all and ordered
// retries), murmur2 partitioner (the Java client's, and the embedded log's).
// publish() hands every message to librdkafka and waits for each one's
// delivery report: a message counts as published only once the broker
// acknowledged it on all in-sync replicas.
//
// Consumers: one librdkafka consumer per subscription, in its consumer
// group, with automatic commits off. An offset is stored after the handler
// succeeded and committed in the background every `commit_interval`, and
// synchronously when partitions are revoked in a rebalance and when the
// subscription stops, so another member picks up exactly where this one
// left off (give or take the messages handled since the last commit, which
// are redelivered: at-least-once).
//
// Topics are created by create_topics() with the Admin API; the adapter
// never relies on the broker's auto-creation, and publishing to a topic that
// does not exist fails with kNotFound.
//
// Thread safety: as the Bus port.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "bus/bus.hpp"

namespace seatflow::bus {

struct KafkaOptions {
  std::string brokers;  // bootstrap servers, "host:port,host:port"
  std::string client_id = "seatflow";
  int16_t replication_factor = 1;  // of topics created by create_topics()
  std::chrono::milliseconds linger{2};
  std::chrono::milliseconds delivery_timeout{30000};
  std::chrono::milliseconds session_timeout{10000};
  std::chrono::milliseconds commit_interval{200};
  std::chrono::milliseconds request_timeout{10000};  // admin and metadata calls
  // A consumer's fetch is answered when fetch_min_bytes are there or after
  // fetch_wait: under load a fetch carries many messages, not one, which
  // costs the broker far less; when idle a message waits up to fetch_wait.
  std::chrono::milliseconds fetch_wait{30};
  int32_t fetch_min_bytes = 65536;
  // Further librdkafka properties, applied last (e.g. "compression.type").
  std::map<std::string, std::string> extra;
};

// Connects a producer and checks that a broker answers.
Result<std::unique_ptr<Bus>> open_kafka(const KafkaOptions& options);

}  // namespace seatflow::bus
