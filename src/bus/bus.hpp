// The message bus ports: Publisher and Subscriber, and Bus, which is both
// plus topic administration. Two adapters implement it: the embedded log
// (embedded_log.hpp, a durable log in a SQLite file) and Kafka
// (kafka_bus.hpp, librdkafka). The contract suite (tests/bus) runs the same
// tests against both.
//
// Delivery is at-least-once. A publish returns only once the bus has
// acknowledged the message (durably written; for Kafka, acks=all). A
// consumer group's position advances only after its handler succeeded for
// a message, so a crash redelivers what was in flight: handlers must be
// idempotent (see inbox.hpp). Messages with the same key go to the same
// partition and are handled in publish order.
//
// Topics are created explicitly (create_topics), never on first use:
// publishing to a topic that does not exist fails.
//
// A subscription may also have a batch handler, which takes the messages a
// consumer has at hand at once (a batch of its fetch, in order within each
// partition) and handles all or none of them, e.g. in one transaction. When
// a batch fails, its messages are offered to the handler one at a time.
//
// Thread safety: a Bus is safe to use from any thread. A handler runs on
// its subscription's own thread, one message (or batch) at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bus/message.hpp"
#include "core/status.hpp"

namespace seatflow::bus {

class Publisher {
 public:
  virtual ~Publisher() = default;

  // Publishes `messages` and returns once the bus acknowledged or refused
  // each one: element i is message i's outcome. Messages with one key keep
  // their order.
  virtual std::vector<Status> publish(std::span<const OutgoingMessage> messages) = 0;

  Status publish_one(const OutgoingMessage& message);
};

// Called for each message. An error means "not handled": the message is
// offered again (after a backoff) and the group's position does not move
// past it.
using Handler = std::function<Status(const Message&)>;

// Called for several messages at once; ok means all of them were handled,
// an error that none was.
using BatchHandler = std::function<Status(std::span<const Message>)>;

struct SubscriptionOptions {
  std::string group;  // consumer group: members share the partitions
  std::vector<std::string> topics;
  Handler handler;
  // Optional: handles what the consumer has at hand, up to `max_batch`
  // messages at a time (see the top of this file).
  BatchHandler batch_handler;
  size_t max_batch = 64;
  // Where a group without a committed position starts: the earliest message
  // (every message is handled), or the end (only what is published from now
  // on; for live-update feeds whose group is new with each process). The end
  // is committed as the group's position when it is taken, so a member that
  // comes back (a rebalance, a lost session) continues from there.
  bool start_at_end = false;
  // Backoff between attempts at a message whose handler failed.
  std::chrono::milliseconds retry_backoff{100};
  std::chrono::milliseconds max_retry_backoff{5000};
};

// A running consumer. stop() (or the destructor) lets the message in hand
// finish, commits the group's position and leaves the group.
class Subscription {
 public:
  virtual ~Subscription() = default;
  virtual void stop() = 0;
  // Whether every message published from now on reaches this consumer (or
  // its group): it has its partitions and where to start in them. The
  // embedded log is ready once subscribe() returns; a Kafka consumer a
  // moment later, when its group has given it its partitions. A process
  // whose live updates come through a subscription is not ready to serve
  // them before it is.
  virtual bool ready() const { return true; }
};

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Starts consuming on a thread of its own; returns once the consumer is set up.
  virtual Result<std::unique_ptr<Subscription>> subscribe(SubscriptionOptions options) = 0;
};

struct TopicSpec {
  std::string name;
  int32_t partitions = 1;
};

class Bus : public Publisher, public Subscriber {
 public:
  // Creates the topics that do not exist yet; an existing one is left as it
  // is (its partition count is not changed).
  virtual Status create_topics(const std::vector<TopicSpec>& topics) = 0;

  // "embedded" or "kafka", for metrics, spans (messaging.system) and logs.
  virtual std::string_view system() const = 0;
};

// A valid topic name: 1 to 249 of [a-zA-Z0-9._-], as Kafka allows.
bool valid_topic_name(std::string_view name);

}  // namespace seatflow::bus
