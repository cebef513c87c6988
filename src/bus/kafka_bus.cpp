#include "bus/kafka_bus.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "bus/consumer_support.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace seatflow::bus {
namespace {

struct DestroyHandle {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, DestroyHandle>;

ErrorCode code_for(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: return ErrorCode::kNotFound;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT: return ErrorCode::kDeadlineExceeded;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL: return ErrorCode::kResourceExhausted;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR: return ErrorCode::kInvalidArgument;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT: return ErrorCode::kUnavailable;
    default: return ErrorCode::kInternal;
  }
}

Error kafka_error(rd_kafka_resp_err_t err, std::string_view what) {
  return Error(code_for(err), std::string(what) + ": " + rd_kafka_err2str(err));
}

using Properties = std::vector<std::pair<std::string, std::string>>;

// A configuration from `properties`, then the options' extras (which win).
Result<rd_kafka_conf_t*> make_conf(const KafkaOptions& options, const Properties& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& key, const std::string& value) -> Status {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return fail(ErrorCode::kInvalidArgument, "Kafka setting " + key + ": " + err);
    }
    return ok();
  };
  Status st = set("bootstrap.servers", options.brokers);
  if (st) st = set("client.id", options.client_id);
  // A broker closing an idle connection is routine (see on_error).
  if (st) st = set("log.connection.close", "false");
  for (const auto& [k, v] : properties) {
    if (st) st = set(k, v);
  }
  for (const auto& [k, v] : options.extra) {
    if (st) st = set(k, v);
  }
  if (!st) {
    rd_kafka_conf_destroy(conf);
    return fail(st.error());
  }
  return conf;
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()); }

void log_kafka(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* text) {
  if (level <= 3) {
    log::error("kafka {}: {}", facility, text);
  } else if (level <= 4) {
    log::warn("kafka {}: {}", facility, text);
  } else {
    log::debug("kafka {}: {}", facility, text);
  }
}

// librdkafka reconnects and retries by itself: a broker that closes an idle
// connection (connections.max.idle.ms, 10 minutes by default) reports
// "brokers are down" on a healthy, quiet cluster. Only an error it cannot get
// over is a warning; a broker that stays away shows as failed deliveries and
// consumers that stop, which are.
void on_error(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    const auto cause = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    log::error("kafka: fatal: {} ({})", fatal, rd_kafka_err2name(cause));
  } else if (code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    log::info("kafka: {} ({}); reconnecting when needed", reason, rd_kafka_err2name(code));
  } else {
    log::warn("kafka: {} ({})", reason, rd_kafka_err2name(code));
  }
}

// A producer or consumer on `conf` (taken over, freed on failure), logging
// through Seatflow's log.
Result<KafkaHandle> create_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, &log_kafka);
  rd_kafka_conf_set_error_cb(conf, &on_error);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return fail(ErrorCode::kInvalidArgument,
                std::string("cannot create a Kafka ") +
                    (type == RD_KAFKA_PRODUCER ? "producer: " : "consumer: ") + err);
  }
  return KafkaHandle(rk);
}

// One publish() call's messages awaiting their delivery reports.
struct PendingBatch {
  std::mutex mu;
  std::condition_variable cv;
  size_t remaining = 0;  // guarded by mu
  std::vector<Status> results;

  void complete(size_t index, Status status) {
    std::lock_guard lock(mu);
    results[index] = std::move(status);
    if (--remaining == 0) cv.notify_all();
  }
};

struct DeliveryToken {
  std::shared_ptr<PendingBatch> batch;
  size_t index;
};

void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* /*opaque*/) {
  std::unique_ptr<DeliveryToken> token(static_cast<DeliveryToken*>(message->_private));
  if (!token) return;
  token->batch->complete(token->index, message->err == RD_KAFKA_RESP_ERR_NO_ERROR
                                           ? ok()
                                           : fail(kafka_error(message->err, "delivery failed")));
}

Message to_message(const rd_kafka_message_t* m) {
  Message out;
  out.topic = rd_kafka_topic_name(m->rkt);
  out.partition = m->partition;
  out.offset = m->offset;
  if (m->key != nullptr) out.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) out.payload.assign(static_cast<const char*>(m->payload), m->len);
  out.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      out.headers.emplace_back(name, value != nullptr
                                         ? std::string(static_cast<const char*>(value), size)
                                         : std::string());
    }
  }
  return out;
}

class KafkaSubscription final : public Subscription {
 public:
  explicit KafkaSubscription(SubscriptionOptions options, std::chrono::milliseconds commit_interval)
      : options_(std::move(options)), commit_interval_(commit_interval) {}
  ~KafkaSubscription() override { stop(); }
  KafkaSubscription(const KafkaSubscription&) = delete;
  KafkaSubscription& operator=(const KafkaSubscription&) = delete;

  Status start(const KafkaOptions& kafka) {
    auto conf =
        make_conf(kafka, {{"group.id", options_.group},
                          {"enable.auto.commit", "false"},
                          {"enable.auto.offset.store", "false"},
                          {"auto.offset.reset", options_.start_at_end ? "latest" : "earliest"},
                          {"allow.auto.create.topics", "false"},
                          {"session.timeout.ms", ms(kafka.session_timeout)},
                          {"heartbeat.interval.ms", ms(kafka.session_timeout / 4)},
                          {"fetch.wait.max.ms", ms(kafka.fetch_wait)},
                          {"fetch.min.bytes", std::to_string(kafka.fetch_min_bytes)}});
    if (!conf) return fail(conf.error());
    rd_kafka_conf_set_opaque(*conf, this);
    rd_kafka_conf_set_rebalance_cb(*conf, &KafkaSubscription::on_rebalance);
    auto consumer = create_handle(RD_KAFKA_CONSUMER, *conf);
    if (!consumer) return fail(consumer.error());
    consumer_ = std::move(*consumer);
    rd_kafka_t* rk = consumer_.get();
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size()));
    for (const auto& t : options_.topics) {
      rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    const rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return fail(kafka_error(e, "cannot subscribe"));
    thread_ = std::thread([this] { run(); });
    return ok();
  }

  void stop() override {
    stop_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool ready() const override { return assigned_.load(std::memory_order_acquire); }

 private:
  void run() {
    set_thread_name(consumer_thread_name("kafka", options_.group));
    rd_kafka_t* rk = consumer_.get();
    auto last_commit = std::chrono::steady_clock::now();
    std::vector<Message> batch;
    std::vector<uint64_t> polled_after;  // per message: the revocations before it was polled
    while (!stop_.stopped()) {
      // What the consumer has at hand: the first message waits up to 100 ms,
      // the rest only come if already fetched.
      batch.clear();
      polled_after.clear();
      revoked_at_.clear();
      for (int timeout_ms = 100; batch.size() < options_.max_batch; timeout_ms = 0) {
        rd_kafka_message_t* raw = rd_kafka_consumer_poll(rk, timeout_ms);
        if (raw == nullptr) break;
        std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> m(
            raw, &rd_kafka_message_destroy);
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          batch.push_back(to_message(m.get()));
          polled_after.push_back(revocations_);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          log::warn("consumer {}: {}", options_.group, rd_kafka_message_errstr(m.get()));
        }
      }
      // A message polled before its partition was revoked (during a later
      // poll of this batch) is not this member's to handle: the partition's
      // next owner, this one again perhaps, starts after the last committed
      // offset and receives it anew. What was polled after a revocation
      // came with the new assignment and is kept.
      if (!revoked_at_.empty()) {
        size_t kept = 0;
        for (size_t i = 0; i < batch.size(); ++i) {
          const auto it = revoked_at_.find({batch[i].topic, batch[i].partition});
          if (it != revoked_at_.end() && it->second > polled_after[i]) continue;
          if (kept != i) batch[kept] = std::move(batch[i]);
          ++kept;
        }
        batch.resize(kept);
      }
      const size_t handled = handle_all_until_done(options_, batch, stop_);
      for (size_t i = 0; i < handled; ++i) {
        pending_[{batch[i].topic, batch[i].partition}] = batch[i].offset + 1;
      }
      if (handled < batch.size()) break;
      if (std::chrono::steady_clock::now() - last_commit >= commit_interval_) {
        commit();
        last_commit = std::chrono::steady_clock::now();
      }
    }
    commit();
    if (const auto e = rd_kafka_consumer_close(rk); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::warn("consumer {}: close: {}", options_.group, rd_kafka_err2str(e));
    }
    consumer_.reset();
  }

  // Commits the offsets of handled messages, synchronously.
  void commit() {
    if (pending_.empty()) return;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(pending_.size()));
    for (const auto& [where, next] : pending_) {
      rd_kafka_topic_partition_list_add(list, where.first.c_str(), where.second)->offset = next;
    }
    const rd_kafka_resp_err_t e = rd_kafka_commit(consumer_.get(), list, 0);
    rd_kafka_topic_partition_list_destroy(list);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET) {
      pending_.clear();
    } else {
      // Kept: retried with the next commit. If the partitions have moved on
      // to another member, it redelivers these messages instead.
      log::warn("consumer {}: commit failed: {}", options_.group, rd_kafka_err2str(e));
    }
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<KafkaSubscription*>(opaque);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      log::info("consumer {}: assigned {} partition(s)", self->options_.group, partitions->cnt);
      if (self->options_.start_at_end) self->pin_to_end(rk, partitions);
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions)) {
          rd_kafka_error_destroy(e);
        }
      } else {
        rd_kafka_assign(rk, partitions);
      }
      self->assigned_.store(true, std::memory_order_release);
      return;
    }
    // Revoked (or lost): hand over what was handled before giving the partitions up.
    log::info("consumer {}: {} partition(s) revoked", self->options_.group, partitions->cnt);
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && rd_kafka_assignment_lost(rk) == 0) {
      self->commit();
    }
    ++self->revocations_;
    for (int i = 0; i < partitions->cnt; ++i) {
      const std::pair<std::string, int32_t> where{partitions->elems[i].topic,
                                                  partitions->elems[i].partition};
      self->pending_.erase(where);
      self->revoked_at_[where] = self->revocations_;
    }
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions)) {
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  // A group that starts at the end starts there once. Where the group has no
  // committed offset, the partition's end now is where this member starts,
  // and it is committed at once: a later assignment (a rebalance, a member
  // that lost its session) then continues from it. Left to
  // auto.offset.reset=latest, it would start from a later end and skip what
  // was published in between.
  void pin_to_end(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* partitions) {
    constexpr int kTimeoutMs = 5000;
    if (const auto e = rd_kafka_committed(rk, partitions, kTimeoutMs);
        e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::warn("consumer {}: cannot read its committed offsets: {}", options_.group,
                rd_kafka_err2str(e));
      return;
    }
    rd_kafka_topic_partition_list_t* pinned = rd_kafka_topic_partition_list_new(partitions->cnt);
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& p = partitions->elems[i];
      if (p.offset >= 0) continue;  // committed: resume there
      int64_t low = 0;
      int64_t high = 0;
      // A partition of a topic just created may have no leader yet: its
      // watermarks come a moment later.
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
      rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
      while ((e = rd_kafka_query_watermark_offsets(rk, p.topic, p.partition, &low, &high,
                                                   kTimeoutMs)) != RD_KAFKA_RESP_ERR_NO_ERROR &&
             std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log::warn("consumer {}: cannot find the end of {}/{}: {}; it starts at the latest offset",
                  options_.group, p.topic, p.partition, rd_kafka_err2str(e));
        continue;  // left to auto.offset.reset
      }
      p.offset = high;
      rd_kafka_topic_partition_list_add(pinned, p.topic, p.partition)->offset = high;
    }
    if (pinned->cnt > 0) {
      if (const auto e = rd_kafka_commit(rk, pinned, 0); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log::warn("consumer {}: cannot commit where it starts: {}", options_.group,
                  rd_kafka_err2str(e));
      }
    }
    rd_kafka_topic_partition_list_destroy(pinned);
  }

  const SubscriptionOptions options_;
  const std::chrono::milliseconds commit_interval_;
  KafkaHandle consumer_;
  StopSignal stop_;
  std::thread thread_;
  // Next offset to commit per partition (topic, partition); consumer thread only.
  std::map<std::pair<std::string, int32_t>, int64_t> pending_;
  // Revocations so far, and for each partition revoked since the current
  // batch began, the count that its revocation made; consumer thread only.
  uint64_t revocations_ = 0;
  std::map<std::pair<std::string, int32_t>, uint64_t> revoked_at_;
  // Set once the group has given this member its partitions (and a group
  // that starts at the end has its starting offsets committed).
  std::atomic<bool> assigned_{false};
};

class KafkaBus final : public Bus {
 public:
  explicit KafkaBus(KafkaOptions options) : options_(std::move(options)) {}
  ~KafkaBus() override {
    if (producer_) {
      rd_kafka_flush(producer_.get(), 10000);
      stopping_ = true;
      if (poller_.joinable()) poller_.join();
    }
  }
  KafkaBus(const KafkaBus&) = delete;
  KafkaBus& operator=(const KafkaBus&) = delete;

  Status open() {
    auto conf = make_conf(options_, {{"enable.idempotence", "true"},
                                     {"acks", "all"},
                                     {"partitioner", "murmur2"},
                                     {"linger.ms", ms(options_.linger)},
                                     {"delivery.timeout.ms", ms(options_.delivery_timeout)},
                                     {"allow.auto.create.topics", "false"}});
    if (!conf) return fail(conf.error());
    rd_kafka_conf_set_dr_msg_cb(*conf, &on_delivery);
    auto producer = create_handle(RD_KAFKA_PRODUCER, *conf);
    if (!producer) return fail(producer.error());
    producer_ = std::move(*producer);
    poller_ = std::thread([this] {
      set_thread_name("kafka-producer");
      while (!stopping_) rd_kafka_poll(producer_.get(), 50);
    });
    if (auto st = refresh_topics(); !st) {
      return fail(st.error().with_context("cannot reach Kafka at " + options_.brokers));
    }
    return ok();
  }

  std::string_view system() const override { return "kafka"; }

  Status create_topics(const std::vector<TopicSpec>& topics) override {
    std::vector<rd_kafka_NewTopic_t*> specs;
    char err[512];
    Status st;
    for (const auto& t : topics) {
      if (!valid_topic_name(t.name)) {
        st = fail(ErrorCode::kInvalidArgument, "invalid topic name '" + t.name + "'");
        break;
      }
      rd_kafka_NewTopic_t* spec = rd_kafka_NewTopic_new(
          t.name.c_str(), t.partitions, options_.replication_factor, err, sizeof err);
      if (spec == nullptr) {
        st = fail(ErrorCode::kInvalidArgument, "topic " + t.name + ": " + err);
        break;
      }
      specs.push_back(spec);
    }
    if (st && !specs.empty()) st = run_create_topics(specs);
    rd_kafka_NewTopic_destroy_array(specs.data(), specs.size());
    if (st) st = wait_until_listed(topics);
    return st;
  }

  std::vector<Status> publish(std::span<const OutgoingMessage> messages) override {
    auto batch = std::make_shared<PendingBatch>();
    batch->results.resize(messages.size());
    batch->remaining = messages.size();
    for (size_t i = 0; i < messages.size(); ++i) {
      const OutgoingMessage& m = messages[i];
      if (!topic_exists(m.topic)) {
        batch->complete(i, fail(ErrorCode::kNotFound,
                                "topic " + m.topic +
                                    " does not exist (topics are created by `seatflow topics` "
                                    "or `seatflow migrate`)"));
        continue;
      }
      produce(batch, i, m);
    }
    std::unique_lock lock(batch->mu);
    batch->cv.wait(lock, [&] { return batch->remaining == 0; });
    return std::move(batch->results);
  }

  Result<std::unique_ptr<Subscription>> subscribe(SubscriptionOptions options) override {
    if (options.group.empty() || !options.handler || options.topics.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "a subscription needs a group, at least one topic and a handler");
    }
    for (const auto& t : options.topics) {
      if (!topic_exists(t)) {
        return fail(ErrorCode::kNotFound, "topic " + t + " does not exist");
      }
    }
    auto sub = std::make_unique<KafkaSubscription>(std::move(options), options_.commit_interval);
    if (auto st = sub->start(options_); !st) return fail(st.error());
    return std::unique_ptr<Subscription>(std::move(sub));
  }

 private:
  void produce(const std::shared_ptr<PendingBatch>& batch, size_t index, const OutgoingMessage& m) {
    for (;;) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(m.headers.size());
      for (const auto& [name, value] : m.headers) {
        rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                            static_cast<ssize_t>(value.size()));
      }
      auto token = std::make_unique<DeliveryToken>(DeliveryToken{batch, index});
      rd_kafka_vu_t args[6];
      args[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      args[0].u.cstr = m.topic.c_str();
      args[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      args[1].u.i = RD_KAFKA_MSG_F_COPY;
      args[2].vtype = RD_KAFKA_VTYPE_KEY;
      args[2].u.mem = {const_cast<char*>(m.key.data()), m.key.size()};
      args[3].vtype = RD_KAFKA_VTYPE_VALUE;
      args[3].u.mem = {const_cast<char*>(m.payload.data()), m.payload.size()};
      args[4].vtype = RD_KAFKA_VTYPE_HEADERS;
      args[4].u.headers = headers;
      args[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
      args[5].u.ptr = token.get();
      rd_kafka_error_t* error = rd_kafka_produceva(producer_.get(), args, 6);
      const rd_kafka_resp_err_t e =
          error == nullptr ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_error_code(error);
      if (error != nullptr) rd_kafka_error_destroy(error);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        (void)token.release();  // on_delivery owns it now
        return;
      }
      rd_kafka_headers_destroy(headers);
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        batch->complete(index, fail(kafka_error(e, "cannot produce to " + m.topic)));
        return;
      }
      // librdkafka's queue is full: wait for deliveries to make room.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  Status run_create_topics(std::vector<rd_kafka_NewTopic_t*>& specs) {
    rd_kafka_t* rk = producer_.get();
    char err[512];
    rd_kafka_AdminOptions_t* admin = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    const int timeout = static_cast<int>(options_.request_timeout.count());
    rd_kafka_AdminOptions_set_request_timeout(admin, timeout, err, sizeof err);
    rd_kafka_AdminOptions_set_operation_timeout(admin, timeout, err, sizeof err);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, specs.data(), specs.size(), admin, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, timeout + 5000);
    Status st;
    if (event == nullptr) {
      st = fail(ErrorCode::kDeadlineExceeded, "Kafka did not answer CreateTopics in time");
    } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      st = fail(kafka_error(rd_kafka_event_error(event), "CreateTopics failed"));
    } else {
      size_t count = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
      for (size_t i = 0; i < count && st; ++i) {
        const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          const char* why = rd_kafka_topic_result_error_string(results[i]);
          st = fail(code_for(e), std::string("cannot create topic ") +
                                     rd_kafka_topic_result_name(results[i]) + ": " +
                                     (why != nullptr ? why : rd_kafka_err2str(e)));
        }
      }
    }
    if (event != nullptr) rd_kafka_event_destroy(event);
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(admin);
    return st;
  }

  // Reloads the names of the cluster's topics.
  Status refresh_topics() {
    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t e = rd_kafka_metadata(
        producer_.get(), 1, nullptr, &metadata, static_cast<int>(options_.request_timeout.count()));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return fail(kafka_error(e, "metadata request failed"));
    std::set<std::string, std::less<>> names;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      if (metadata->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        names.emplace(metadata->topics[i].topic);
      }
    }
    rd_kafka_metadata_destroy(metadata);
    std::lock_guard lock(mu_);
    topics_ = std::move(names);
    return ok();
  }

  // Waits until the cluster's metadata lists every topic of `topics`: a
  // broker learns of a topic just created a moment after CreateTopics
  // answers, and until then a subscription to it would be refused.
  Status wait_until_listed(const std::vector<TopicSpec>& topics) {
    const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    for (;;) {
      if (auto st = refresh_topics(); !st) return st;
      std::string missing;
      {
        std::lock_guard lock(mu_);
        for (const auto& t : topics) {
          if (!topics_.contains(t.name)) missing = t.name;
        }
      }
      if (missing.empty()) return ok();
      if (std::chrono::steady_clock::now() >= deadline) {
        return fail(ErrorCode::kDeadlineExceeded,
                    "topic " + missing + " was created but Kafka's metadata does not list it yet");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  bool topic_exists(const std::string& topic) {
    {
      std::lock_guard lock(mu_);
      if (topics_.contains(topic)) return true;
    }
    if (!refresh_topics()) return false;
    std::lock_guard lock(mu_);
    return topics_.contains(topic);
  }

  const KafkaOptions options_;
  KafkaHandle producer_;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
  std::mutex mu_;
  std::set<std::string, std::less<>> topics_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Bus>> open_kafka(const KafkaOptions& options) {
  if (options.brokers.empty()) {
    return fail(ErrorCode::kInvalidArgument, "no Kafka brokers configured");
  }
  auto bus = std::make_unique<KafkaBus>(options);
  if (auto st = bus->open(); !st) return fail(st.error());
  return std::unique_ptr<Bus>(std::move(bus));
}

}  // namespace seatflow::bus
