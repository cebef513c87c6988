// The Bus port's contract, with the outbox relay and the inbox on top, run
// against each adapter (one binary per pairing, see tests/CMakeLists.txt).
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bus/embedded_log.hpp"
#include "bus/inbox.hpp"
#include "bus/outbox.hpp"
#include "db/migrations.hpp"
#include "db/sqlite_database.hpp"
#include "metrics/registry.hpp"
#include "tests/bus/test_bus.hpp"
#include "tests/db/test_database.hpp"
#include "trace/propagation.hpp"
#include "trace/testing.hpp"

namespace seatflow::bus {
namespace {

using namespace std::chrono_literals;
using testing::MessageLog;

constexpr int32_t kPartitions = 4;

class BusContract : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / testing::unique_name("seatflow-bus");
    std::filesystem::create_directories(dir_);
    bus_ = testing::open_test_bus(dir_.string());
    topic_ = testing::unique_name("contract");
    ASSERT_TRUE(bus_->create_topics({{topic_, kPartitions}}));
    db_ = test_db_.open(8);
    auto migrations = db::select_migrations(standalone_messaging_migration_files(), db_->dialect());
    ASSERT_TRUE(migrations) << migrations.error().to_string();
    db::Migrator migrator(*db_, "test", std::move(*migrations), SystemClock::instance());
    auto applied = migrator.migrate();
    ASSERT_TRUE(applied) << applied.error().to_string();
  }

  void TearDown() override {
    bus_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Subscription> subscribe(const std::string& group, Handler handler) {
    auto sub = bus_->subscribe({.group = group,
                                .topics = {topic_},
                                .handler = std::move(handler),
                                .retry_backoff = 10ms,
                                .max_retry_backoff = 50ms});
    EXPECT_TRUE(sub) << sub.error().to_string();
    return sub ? std::move(*sub) : nullptr;
  }

  // A live-feed subscription: the group starts at the end of the topic.
  std::unique_ptr<Subscription> collect_live(const std::string& group, MessageLog& log) {
    auto sub = bus_->subscribe({.group = group,
                                .topics = {topic_},
                                .handler =
                                    [&log](const Message& m) {
                                      log.add(m);
                                      return ok();
                                    },
                                .start_at_end = true});
    EXPECT_TRUE(sub) << sub.error().to_string();
    return sub ? std::move(*sub) : nullptr;
  }

  std::unique_ptr<Subscription> collect_into(const std::string& group,
                                             std::function<void(const Message&)> record) {
    return subscribe(group, [record = std::move(record)](const Message& m) {
      record(m);
      return ok();
    });
  }

  std::unique_ptr<Subscription> collect(const std::string& group, MessageLog& log) {
    return subscribe(group, [&log](const Message& m) {
      log.add(m);
      return ok();
    });
  }

  OutgoingMessage message(const std::string& key, int seq) const {
    return {.topic = topic_,
            .key = key,
            .headers = {{"message-id", key + "#" + std::to_string(seq)}},
            .payload = std::to_string(seq)};
  }

  // Writes `count` outbox rows for each key, one transaction each.
  void add_to_outbox(Outbox& outbox, const std::vector<std::string>& keys, int count) {
    for (int i = 0; i < count; ++i) {
      for (const auto& key : keys) {
        ASSERT_TRUE(db_->transact([&](db::Session& s) -> Status {
          auto id = outbox.add(
              s,
              {.topic = topic_, .key = key, .type = "test.happened", .payload = std::to_string(i)});
          if (!id) return fail(id.error());
          return ok();
        }));
      }
    }
  }

  RelayOptions relay_options(std::string owner = "relay-a") {
    return {.owner = std::move(owner), .batch_size = 64, .poll_interval = 5s, .lease = 2s};
  }

  int64_t count(const std::string& sql) {
    auto n = db_->transact([&](db::Session& s) -> Result<int64_t> {
      auto rows = s.query(sql);
      if (!rows) return fail(rows.error());
      return (*rows)[0].get<int64_t>(0);
    });
    EXPECT_TRUE(n) << n.error().to_string();
    return n ? *n : -1;
  }

  // Checks that each key's payloads arrive as 0, 1, 2, ... (repeats allowed).
  static void expect_in_order_per_key(const std::vector<Message>& messages) {
    std::map<std::string, int> last;
    for (const auto& m : messages) {
      const int seq = std::stoi(m.payload);
      auto [it, first] = last.emplace(m.key, seq);
      if (!first) {
        EXPECT_LE(seq, it->second + 1) << "key " << m.key << " skipped ahead";
        EXPECT_GE(seq, 0);
        it->second = std::max(it->second, seq);
      } else {
        EXPECT_EQ(seq, 0) << "key " << m.key << " did not start at its first message";
      }
    }
  }

  db::testing::TestDatabase test_db_;
  std::unique_ptr<db::Database> db_;
  std::filesystem::path dir_;
  std::unique_ptr<Bus> bus_;
  std::string topic_;
  trace::testing::SpanCollector spans_;
  trace::Tracer tracer_{trace::Sampler{}, &spans_};
};

TEST_F(BusContract, PublishReturnsAfterTheAcknowledgementAndKeepsOrderPerKey) {
  std::vector<OutgoingMessage> batch;
  for (int seq = 0; seq < 50; ++seq) {
    for (const char* key : {"a", "b", "c", "d", "e"}) batch.push_back(message(key, seq));
  }
  const auto results = bus_->publish(batch);
  ASSERT_EQ(results.size(), batch.size());
  for (const auto& r : results) ASSERT_TRUE(r) << r.error().to_string();

  MessageLog log;
  auto sub = collect(testing::unique_name("g"), log);
  ASSERT_TRUE(log.wait_for(batch.size()));
  const auto got = log.all();
  std::map<std::string, std::vector<int>> per_key;
  std::map<std::string, std::set<int32_t>> partitions;
  for (const auto& m : got) {
    per_key[m.key].push_back(std::stoi(m.payload));
    partitions[m.key].insert(m.partition);
    EXPECT_EQ(m.partition, partition_for(m.key, kPartitions)) << "murmur2, as the Java client";
    EXPECT_EQ(find_header(m.headers, "message-id"), m.key + "#" + m.payload);
  }
  for (const auto& [key, seqs] : per_key) {
    ASSERT_EQ(seqs.size(), 50u) << key;
    for (int i = 0; i < 50; ++i) EXPECT_EQ(seqs[static_cast<size_t>(i)], i) << key;
    EXPECT_EQ(partitions[key].size(), 1u) << "one key, one partition";
  }
}

TEST_F(BusContract, PublishingToAMissingTopicFailsAndCreatesNothing) {
  OutgoingMessage m = message("k", 0);
  m.topic = testing::unique_name("missing");
  auto st = bus_->publish_one(m);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(st.error().message(), ::testing::HasSubstr("does not exist"));
  auto again = bus_->publish_one(m);
  EXPECT_FALSE(again) << "a failed publish must not have created the topic";
}

TEST_F(BusContract, CreatingTopicsIsIdempotentAndChecksNames) {
  EXPECT_TRUE(bus_->create_topics({{topic_, kPartitions}}));
  auto bad = bus_->create_topics({{"no spaces allowed", 1}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(BusContract, AFailedMessageIsOfferedAgainAndBlocksOnlyUntilHandled) {
  ASSERT_TRUE(bus_->publish_one(message("k", 0)));
  ASSERT_TRUE(bus_->publish_one(message("k", 1)));
  std::atomic<int> attempts{0};
  MessageLog log;
  auto sub = subscribe(testing::unique_name("g"), [&](const Message& m) -> Status {
    if (m.payload == "0" && ++attempts < 3) return fail(ErrorCode::kUnavailable, "not yet");
    log.add(m);
    return ok();
  });
  ASSERT_TRUE(log.wait_for(2));
  EXPECT_EQ(attempts.load(), 3);
  EXPECT_EQ(log.all()[0].payload, "0") << "the next message waited for the failed one";
  EXPECT_EQ(log.all()[1].payload, "1");
}

TEST_F(BusContract, RedeliveryAfterAConsumerCrash) {
  std::vector<OutgoingMessage> batch;
  batch.reserve(20);
  for (int seq = 0; seq < 20; ++seq) batch.push_back(message("k", seq));
  for (const auto& r : bus_->publish(batch)) ASSERT_TRUE(r);
  const std::string group = testing::unique_name("g");

  // The first consumer handles 0..9, then fails on 10 until it is stopped
  // (as if it had crashed while handling it).
  MessageLog first;
  auto sub = subscribe(group, [&](const Message& m) -> Status {
    if (std::stoi(m.payload) >= 10) return fail(ErrorCode::kInternal, "crashed");
    first.add(m);
    return ok();
  });
  ASSERT_TRUE(first.wait_for(10));
  std::this_thread::sleep_for(100ms);
  sub->stop();
  sub.reset();

  // The next consumer of the group gets 10 onwards: nothing unhandled is lost.
  MessageLog second;
  auto next = collect(group, second);
  ASSERT_TRUE(second.wait_for(10));
  std::this_thread::sleep_for(200ms);
  const auto got = second.all();
  EXPECT_EQ(got.front().payload, "10") << "resumes after the last committed message";
  EXPECT_EQ(got.size(), 10u);
  EXPECT_EQ(got.back().payload, "19");
}

TEST_F(BusContract, AConsumerResumesWhereItsGroupLeftOffAfterARestart) {
  const std::string group = testing::unique_name("g");
  {
    MessageLog log;
    auto sub = collect(group, log);
    for (int seq = 0; seq < 5; ++seq) ASSERT_TRUE(bus_->publish_one(message("k", seq)));
    ASSERT_TRUE(log.wait_for(5));
  }
  // A new handle on the same bus, as after a process restart.
  bus_.reset();
  bus_ = testing::open_test_bus(dir_.string());
  for (int seq = 5; seq < 8; ++seq) ASSERT_TRUE(bus_->publish_one(message("k", seq)));
  MessageLog log;
  auto sub = collect(group, log);
  ASSERT_TRUE(log.wait_for(3));
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log.all()[0].payload, "5");
}

TEST_F(BusContract, ANewGroupThatStartsAtTheEndSeesOnlyWhatIsPublishedAfterIt) {
  for (int seq = 0; seq < 3; ++seq) ASSERT_TRUE(bus_->publish_one(message("old", seq)));
  MessageLog log;
  auto sub = collect_live(testing::unique_name("live"), log);
  ASSERT_TRUE(sub);
  // A Kafka consumer gets its partitions a little after subscribing: publish
  // until the first new message arrives.
  for (int seq = 0; seq < 100 && log.size() == 0; ++seq) {
    ASSERT_TRUE(bus_->publish_one(message("new", seq)));
    log.wait_for(1, 100ms);
  }
  ASSERT_GT(log.size(), 0u);
  for (const auto& m : log.all()) EXPECT_EQ(m.key, "new") << "an older message was delivered";
}

TEST_F(BusContract, ALiveSubscriptionThatIsReadyReceivesEverythingPublishedAfter) {
  // What a process checks before it serves live updates: once ready, no
  // message published afterwards is missed, on any partition.
  MessageLog log;
  auto sub = collect_live(testing::unique_name("live"), log);
  ASSERT_TRUE(sub);
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (!sub->ready() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(sub->ready());
  for (int key = 0; key < 16; ++key) {
    ASSERT_TRUE(bus_->publish_one(message("after-" + std::to_string(key), 0)));
  }
  EXPECT_TRUE(log.wait_for(16, 20s)) << "got " << log.size() << " of 16";
}

TEST_F(BusContract, AStartAtEndGroupThatComesBackResumesWhereItStood) {
  // The group starts at the end once. A member that comes back (after a
  // rebalance, a lost session) continues from where the group stood, on
  // every partition, even those it had received nothing from.
  const std::string group = testing::unique_name("live");

  {
    MessageLog first;
    auto sub = collect_live(group, first);
    for (int seq = 0; seq < 100 && first.size() == 0; ++seq) {
      ASSERT_TRUE(bus_->publish_one(message("first", seq)));
      first.wait_for(1, 100ms);
    }
    ASSERT_GT(first.size(), 0u);
    std::this_thread::sleep_for(200ms);  // the rest of them, before it leaves
  }
  // Published while the group has no member, under keys that spread over
  // every partition.
  for (int key = 0; key < 16; ++key) {
    ASSERT_TRUE(bus_->publish_one(message("missed-" + std::to_string(key), 0)));
  }
  MessageLog second;
  auto sub = collect_live(group, second);
  EXPECT_TRUE(second.wait_for(16, 20s)) << "got " << second.size() << " of 16";
  for (const auto& m : second.all()) EXPECT_TRUE(m.key.starts_with("missed-")) << m.key;
}

TEST_F(BusContract, RelayPublishesOutboxRowsInOrderPerKeyAndDeletesThem) {
  Outbox outbox(*db_, bus_->system(), tracer_, SystemClock::instance());
  add_to_outbox(outbox, {"order-1", "order-2", "order-3", "order-4", "order-5"}, 40);
  MessageLog log;
  auto sub = collect(testing::unique_name("g"), log);
  OutboxRelay relay("test", *db_, *bus_, bus_->system(), tracer_, SystemClock::instance(),
                    relay_options());
  ASSERT_TRUE(relay.start());
  ASSERT_TRUE(log.wait_for(200));
  relay.stop();
  const auto got = log.all();
  expect_in_order_per_key(got);
  std::set<std::string> ids;
  for (const auto& m : got) {
    ids.insert(m.id());
    EXPECT_EQ(m.type(), "test.happened");
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM outbox"), 0);
}

TEST_F(BusContract, RelayWakesAtOnceWhenARowIsCommitted) {
  MessageLog log;
  auto sub = collect(testing::unique_name("g"), log);
  Outbox outbox(*db_, bus_->system(), tracer_, SystemClock::instance());
  OutboxRelay relay("test", *db_, *bus_, bus_->system(), tracer_, SystemClock::instance(),
                    relay_options());  // polls every 5 s
  ASSERT_TRUE(relay.start());
  std::this_thread::sleep_for(300ms);  // the relay is idle, waiting
  const auto started = std::chrono::steady_clock::now();
  add_to_outbox(outbox, {"k"}, 1);
  ASSERT_TRUE(log.wait_for(1, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "woken by the commit, not the poll";
}

// Woken by a row, a lingering relay waits before it reads the outbox:
// the rows committed meanwhile go out in the same publish.
TEST_F(BusContract, ALingeringRelayPublishesWhatCameMeanwhileInOnePass) {
  class CountingPublisher final : public Publisher {
   public:
    explicit CountingPublisher(Publisher& inner) : inner_(inner) {}
    std::vector<Status> publish(std::span<const OutgoingMessage> messages) override {
      {
        std::lock_guard lock(mu);
        sizes.push_back(messages.size());
      }
      return inner_.publish(messages);
    }
    std::mutex mu;
    std::vector<size_t> sizes;  // guarded by mu

   private:
    Publisher& inner_;
  } publisher(*bus_);
  MessageLog log;
  auto sub = collect(testing::unique_name("g"), log);
  Outbox outbox(*db_, bus_->system(), tracer_, SystemClock::instance());
  RelayOptions options = relay_options();
  options.linger = 500ms;
  OutboxRelay relay("test", *db_, publisher, bus_->system(), tracer_, SystemClock::instance(),
                    options);
  ASSERT_TRUE(relay.start());
  std::this_thread::sleep_for(300ms);   // the relay is idle, waiting
  add_to_outbox(outbox, {"k"}, 1);      // wakes it
  add_to_outbox(outbox, {"other"}, 2);  // within its linger
  ASSERT_TRUE(log.wait_for(3, 10s));
  std::lock_guard lock(publisher.mu);
  EXPECT_EQ(publisher.sizes, std::vector<size_t>{3}) << "one pass for the three rows";
}

TEST_F(BusContract, NothingIsLostWhenTheRelayDiesBetweenPublishingAndDeleting) {
  Outbox outbox(*db_, bus_->system(), tracer_, SystemClock::instance());
  add_to_outbox(outbox, {"k1", "k2"}, 10);
  metrics::Registry registry;
  Inbox inbox(*db_, bus_->system(), tracer_, SystemClock::instance(), {.consumer = "effects"},
              &registry);
  ASSERT_TRUE(db_->transact([](db::Session& s) {
    return s.execute_script("CREATE TABLE effects (message_id TEXT NOT NULL)");
  }));
  MessageLog log;  // every delivery, duplicates included
  const InboxHandler effect = [](db::Session& s, const Message& m) -> Status {
    auto n = s.execute("INSERT INTO effects (message_id) VALUES ($1)", {m.id()});
    if (!n) return fail(n.error());
    return ok();
  };
  auto sub = subscribe("effects", [&](const Message& m) {
    Status st = inbox.handle(m, effect);
    log.add(m);
    return st;
  });

  // A publish first, elsewhere, so that the producer is ready (a broker
  // just started keeps it waiting a while) and the first relay's pass
  // below takes far less than its lease.
  const std::string elsewhere = testing::unique_name("warm-up");
  ASSERT_TRUE(bus_->create_topics({{elsewhere, 1}}));
  ASSERT_TRUE(bus_->publish_one({.topic = elsewhere, .key = "k", .payload = "ready?"}));

  // The first relay publishes the batch and "dies" before deleting its rows.
  RelayOptions dying = relay_options("relay-a");
  dying.before_settle = [] { return false; };
  OutboxRelay first("test", *db_, *bus_, bus_->system(), tracer_, SystemClock::instance(), dying);
  auto pass = first.run_once();
  ASSERT_FALSE(pass);

  // Another relay finds the lanes still leased to the first, takes them
  // over once the lease has run out and publishes everything again; the
  // inbox drops the duplicates.
  OutboxRelay second("test", *db_, *bus_, bus_->system(), tracer_, SystemClock::instance(),
                     relay_options("relay-b"));
  auto early = second.run_once();
  ASSERT_TRUE(early);
  EXPECT_EQ(*early, 0u) << "the lanes are still leased to the first relay";
  ASSERT_TRUE(log.wait_for(20));
  EXPECT_EQ(count("SELECT COUNT(*) FROM outbox"), 20);
  std::this_thread::sleep_for(2200ms);
  auto again = second.run_once();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(*again, 20u);
  ASSERT_TRUE(log.wait_for(40));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(count("SELECT COUNT(*) FROM outbox"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM effects"), 20) << "each message took effect once";
  EXPECT_EQ(count("SELECT COUNT(DISTINCT message_id) FROM effects"), 20);
  EXPECT_THAT(registry.serialize(),
              ::testing::HasSubstr("seatflow_bus_duplicates_total{consumer=\"effects\"} 20"));
}

TEST_F(BusContract, TwoRelaysNeverPublishTheSameRow) {
  Outbox outbox(*db_, bus_->system(), tracer_, SystemClock::instance());
  MessageLog log;
  auto sub = collect(testing::unique_name("g"), log);
  OutboxRelay a("test", *db_, *bus_, bus_->system(), tracer_, SystemClock::instance(),
                relay_options("relay-a"));
  OutboxRelay b("test", *db_, *bus_, bus_->system(), tracer_, SystemClock::instance(),
                relay_options("relay-b"));
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  add_to_outbox(outbox, {"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8"}, 20);
  ASSERT_TRUE(log.wait_for(160));
  std::this_thread::sleep_for(300ms);
  a.stop();
  b.stop();
  EXPECT_EQ(log.size(), 160u) << "no row was published twice";
  expect_in_order_per_key(log.all());
}

TEST_F(BusContract, DuplicatesAreAcknowledgedWithoutEffect) {
  Inbox inbox(*db_, bus_->system(), tracer_, SystemClock::instance(), {.consumer = "dedup"});
  std::atomic<int> effects{0};
  MessageLog seen;
  auto sub = subscribe("dedup", [&](const Message& m) {
    Status st = inbox.handle(m, [&](db::Session&, const Message&) {
      ++effects;
      return ok();
    });
    seen.add(m);
    return st;
  });
  const OutgoingMessage m = message("k", 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bus_->publish_one(m));
  ASSERT_TRUE(bus_->publish_one(message("k", 1)));
  ASSERT_TRUE(seen.wait_for(4));
  EXPECT_EQ(effects.load(), 2);
}

TEST_F(BusContract, TypesAConsumerDoesNotActOnPassWithoutAnInboxRow) {
  Inbox inbox(*db_, bus_->system(), tracer_, SystemClock::instance(), {.consumer = "picky"});
  std::vector<std::string> handled;
  std::mutex mu;
  MessageLog seen;
  const Handler handler = inbox.wrap(
      [&](db::Session&, const Message& m) {
        std::lock_guard lock(mu);
        handled.push_back(m.id());
        return ok();
      },
      {"thing.sold"});
  auto sub = subscribe("picky", [&](const Message& m) {
    Status st = handler(m);
    seen.add(m);
    return st;
  });
  for (int i = 0; i < 4; ++i) {
    OutgoingMessage m = message("k", i);
    m.headers.emplace_back(std::string(kMessageTypeHeader),
                           i % 2 == 0 ? "thing.sold" : "thing.seen");
    ASSERT_TRUE(bus_->publish_one(m));
  }
  ASSERT_TRUE(seen.wait_for(4));
  std::lock_guard lock(mu);
  EXPECT_EQ(handled, (std::vector<std::string>{"k#0", "k#2"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM inbox WHERE consumer = 'picky'"), 2)
      << "the other type left no row";
}

// What is at hand is handled as a batch, one transaction; a batch that
// fails is rolled back whole and its messages offered one at a time.
TEST_F(BusContract, ABatchCommitsTogetherAndAFailedOneIsRetriedMessageByMessage) {
  ASSERT_TRUE(db_->transact([](db::Session& s) {
    return s.execute_script("CREATE TABLE effects (message_id TEXT PRIMARY KEY)");
  }));
  Inbox inbox(*db_, bus_->system(), tracer_, SystemClock::instance(), {.consumer = "batched"});
  std::atomic<bool> failed_once{false};
  const InboxHandler effect = [&](db::Session& s, const Message& m) -> Status {
    // k#7 fails the first time it is handled: its batch rolls back.
    if (m.payload == "7" && !failed_once.exchange(true)) {
      return fail(ErrorCode::kUnavailable, "k#7 fails once");
    }
    auto n = s.execute("INSERT INTO effects (message_id) VALUES ($1)", {m.id()});
    return n ? ok() : fail(n.error());
  };
  constexpr int kMessages = 40;
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(bus_->publish_one(message("k", i)));
  std::atomic<size_t> largest{0};
  MessageLog handled;
  const Handler one = inbox.wrap(effect);
  const BatchHandler batch = inbox.wrap_batch(effect);
  auto sub = bus_->subscribe({.group = "batched",
                              .topics = {topic_},
                              .handler =
                                  [&](const Message& m) {
                                    Status st = one(m);
                                    if (st) handled.add(m);
                                    return st;
                                  },
                              .batch_handler =
                                  [&](std::span<const Message> messages) {
                                    largest = std::max(largest.load(), messages.size());
                                    Status st = batch(messages);
                                    if (st) {
                                      for (const Message& m : messages) handled.add(m);
                                    }
                                    return st;
                                  },
                              .retry_backoff = 10ms,
                              .max_retry_backoff = 50ms});
  ASSERT_TRUE(sub) << sub.error().to_string();
  ASSERT_TRUE(handled.wait_for(kMessages));
  EXPECT_GT(largest.load(), 1u) << "messages at hand come as one batch";
  EXPECT_TRUE(failed_once.load());
  EXPECT_EQ(count("SELECT COUNT(*) FROM effects"), kMessages) << "each effect exactly once";
  EXPECT_EQ(count("SELECT COUNT(*) FROM inbox WHERE consumer = 'batched'"), kMessages);
  EXPECT_EQ(count("SELECT COUNT(*) FROM inbox_failures WHERE consumer = 'batched'"), 0)
      << "a failed batch is not a failure of its messages";
  expect_in_order_per_key(handled.all());
  // Every message got its process span; the rolled-back batch's say so.
  int rolled_back = 0;
  for (const auto& span : spans_.all()) {
    if (trace::testing::attribute(span, "seatflow.batch.rolled_back")) ++rolled_back;
  }
  EXPECT_GT(rolled_back, 0);
}

// A batch sends its inbox rows with its effects, without asking first
// whether each message was handled before: one that was fails the batch at
// its row, and the messages are then handled one at a time, the duplicate
// acknowledged without effect.
TEST_F(BusContract, ABatchHoldingAMessageAlreadyHandledIsRetriedMessageByMessage) {
  ASSERT_TRUE(db_->transact([](db::Session& s) {
    return s.execute_script("CREATE TABLE effects (message_id TEXT PRIMARY KEY)");
  }));
  Inbox inbox(*db_, bus_->system(), tracer_, SystemClock::instance(), {.consumer = "again"});
  const InboxHandler effect = [&](db::Session& s, const Message& m) -> Status {
    auto n = s.execute("INSERT INTO effects (message_id) VALUES ($1)", {m.id()});
    return n ? ok() : fail(n.error());
  };
  constexpr int kMessages = 10;
  std::vector<Message> received;
  for (int i = 0; i < kMessages; ++i) {
    const OutgoingMessage out = message("k", i);
    received.push_back(
        {.topic = out.topic, .key = out.key, .headers = out.headers, .payload = out.payload});
  }
  ASSERT_TRUE(inbox.handle(received[3], effect));  // k#3 was handled before

  auto batch = inbox.handle_batch(received, effect);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code(), ErrorCode::kAlreadyExists) << batch.error().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM effects"), 1) << "the batch rolled back whole";

  for (const Message& m : received) ASSERT_TRUE(inbox.handle(m, effect));
  EXPECT_EQ(count("SELECT COUNT(*) FROM effects"), kMessages) << "each effect exactly once";
  EXPECT_EQ(count("SELECT COUNT(*) FROM inbox WHERE consumer = 'again'"), kMessages);
  int duplicates = 0;
  for (const auto& span : spans_.all()) {
    if (trace::testing::attribute(span, "seatflow.message.duplicate")) ++duplicates;
  }
  EXPECT_EQ(duplicates, 1);

  // A batch of messages all handled before changes nothing either.
  EXPECT_FALSE(inbox.handle_batch(received, effect));
  EXPECT_EQ(count("SELECT COUNT(*) FROM effects"), kMessages);
}

TEST_F(BusContract, InboxRowsPastTheRetentionArePurged) {
  ManualClock clock;
  Inbox inbox(*db_, bus_->system(), tracer_, clock,
              {.consumer = "aging", .retention = std::chrono::hours(1)});
  Inbox other(*db_, bus_->system(), tracer_, clock,
              {.consumer = "other", .retention = std::chrono::hours(1)});
  int effects = 0;
  const InboxHandler effect = [&](db::Session&, const Message&) {
    ++effects;
    return ok();
  };
  auto received = [&](int seq) {
    const OutgoingMessage out = message("k", seq);
    return Message{
        .topic = out.topic, .key = out.key, .headers = out.headers, .payload = out.payload};
  };
  ASSERT_TRUE(inbox.handle(received(0), effect));
  ASSERT_TRUE(other.handle(received(0), effect));
  clock.advance(std::chrono::minutes(30));
  ASSERT_TRUE(inbox.handle(received(1), effect));  // within the minute: no purge yet
  clock.advance(std::chrono::minutes(31));
  ASSERT_TRUE(inbox.handle(received(2), effect));  // purges k#0, now 61 minutes old
  EXPECT_EQ(count("SELECT COUNT(*) FROM inbox WHERE consumer = 'aging'"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM inbox WHERE consumer = 'aging' AND message_id = 'k#0'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM inbox WHERE consumer = 'other'"), 1)
      << "only the consumer's own rows";
  ASSERT_TRUE(inbox.handle(received(1), effect));
  EXPECT_EQ(effects, 4) << "k#1 is still remembered: its redelivery has no effect";
}

TEST_F(BusContract, AMessageThatKeepsFailingIsDeadLetteredAndTheRestFlow) {
  metrics::Registry registry;
  Inbox inbox(*db_, bus_->system(), tracer_, SystemClock::instance(),
              {.consumer = "dlq", .max_attempts = 3}, &registry);
  MessageLog handled;
  auto sub = subscribe("dlq", inbox.wrap([&](db::Session&, const Message& m) -> Status {
    if (m.payload == "0") return fail(ErrorCode::kInvalidArgument, "payload 0 is poison");
    handled.add(m);
    return ok();
  }));
  OutgoingMessage poison = message("k", 0);
  trace::Span parent = tracer_.start_span("parent");
  trace::inject(parent.context(), poison.headers);
  ASSERT_TRUE(bus_->publish_one(poison));
  ASSERT_TRUE(bus_->publish_one(message("k", 1)));
  ASSERT_TRUE(handled.wait_for(1));
  EXPECT_EQ(handled.all()[0].payload, "1") << "the partition moved on";
  auto row = db_->transact(
      [&](db::Session& s) {
        return s.query(
            "SELECT message_id, error, traceparent, attempts, payload FROM dead_letters "
            "WHERE consumer = 'dlq'");
      },
      {.read_only = true});
  ASSERT_TRUE(row);
  ASSERT_EQ(row->size(), 1u);
  EXPECT_EQ((*row)[0].get<std::string>(0), "k#0");
  EXPECT_THAT((*row)[0].get<std::string>(1), ::testing::HasSubstr("payload 0 is poison"));
  EXPECT_EQ((*row)[0].get<std::string>(2),
            std::string(*find_header(poison.headers, "traceparent")));
  EXPECT_EQ((*row)[0].get<int64_t>(3), 3);
  EXPECT_EQ((*row)[0].get<std::string>(4), "0");
  EXPECT_THAT(registry.serialize(),
              ::testing::HasSubstr("seatflow_bus_dead_letters_total{consumer=\"dlq\"} 1"));
}

TEST_F(BusContract, TraceContextTravelsFromTheOutboxRowToTheConsumerSpan) {
  Outbox outbox(*db_, bus_->system(), tracer_, SystemClock::instance());
  Inbox inbox(*db_, bus_->system(), tracer_, SystemClock::instance(), {.consumer = "traced"});
  std::optional<trace::SpanContext> in_handler;
  MessageLog log;
  auto sub = subscribe("traced", inbox.wrap([&](db::Session&, const Message& m) -> Status {
    if (const trace::SpanContext* c = trace::current_context()) in_handler = *c;
    log.add(m);
    return ok();
  }));
  trace::SpanContext root;
  {
    trace::Span request =
        tracer_.start_span("POST /api/orders", {.kind = trace::SpanKind::kServer});
    root = request.context();
    trace::Scope scope(request);
    add_to_outbox(outbox, {"order-9"}, 1);
  }
  OutboxRelay relay("test", *db_, *bus_, bus_->system(), tracer_, SystemClock::instance(),
                    relay_options());
  ASSERT_TRUE(relay.start());
  ASSERT_TRUE(log.wait_for(1));
  relay.stop();
  sub->stop();

  const std::string create_name = "create " + topic_;
  const std::string send_name = "send " + topic_;
  const std::string process_name = "process " + topic_;
  const auto create = spans_.named(create_name);
  const auto send = spans_.named(send_name);
  const auto process = spans_.named(process_name);
  ASSERT_EQ(create.size(), 1u);
  ASSERT_EQ(send.size(), 1u);
  ASSERT_EQ(process.size(), 1u);
  EXPECT_EQ(create[0].kind, trace::SpanKind::kProducer);
  EXPECT_EQ(send[0].kind, trace::SpanKind::kProducer);
  EXPECT_EQ(process[0].kind, trace::SpanKind::kConsumer);
  for (const auto& spans : {create, send, process}) {
    EXPECT_EQ(spans.front().context.trace_id, root.trace_id)
        << spans.front().name << " is in the request's trace";
  }
  EXPECT_EQ(create[0].parent_span_id, root.span_id);
  EXPECT_EQ(send[0].parent_span_id, create[0].context.span_id);
  EXPECT_EQ(process[0].parent_span_id, send[0].context.span_id);
  ASSERT_TRUE(in_handler);
  EXPECT_EQ(in_handler->span_id, process[0].context.span_id) << "the handler runs in the span";
  const auto system = trace::testing::attribute(process[0], "messaging.system");
  ASSERT_TRUE(system);
  EXPECT_EQ(std::get<std::string>(*system), bus_->system());
  const auto destination = trace::testing::attribute(send[0], "messaging.destination.name");
  ASSERT_TRUE(destination);
  EXPECT_EQ(std::get<std::string>(*destination), topic_);
  // One traceparent in the message, the send span's.
  const auto received = log.all()[0];
  int traceparents = 0;
  for (const auto& [name, value] : received.headers) traceparents += name == "traceparent";
  EXPECT_EQ(traceparents, 1);
}

// A log file of schema V1 (messages keyed by partition and offset), opened by
// this build: its messages and groups' positions carry over to V2's append
// order, and appends go on from each partition's end.
TEST_F(BusContract, ALogFileFromBeforeAppendOrderKeepsItsMessagesAndPositions) {
  if (testing::testing_kafka()) GTEST_SKIP() << "about the embedded log's file";
  const std::filesystem::path old_dir = dir_ / "old";
  std::filesystem::create_directories(old_dir);
  const std::string path = (old_dir / "bus.db").string();
  {
    auto db = db::open_sqlite({.path = path});
    ASSERT_TRUE(db) << db.error().to_string();
    std::vector<db::MigrationFile> v1;
    for (auto& f : bus_log::migration_files()) {
      if (f.name.starts_with("V1__")) v1.push_back(std::move(f));
    }
    auto migrations = db::select_migrations(v1, db::Dialect::kSqlite);
    ASSERT_TRUE(migrations);
    db::Migrator migrator(**db, "bus", std::move(*migrations), SystemClock::instance());
    ASSERT_TRUE(migrator.migrate());
    ASSERT_TRUE((*db)->transact([&](db::Session& s) -> Status {
      if (auto n = s.execute("INSERT INTO topics (name, partitions, created_at) VALUES ($1, 2, 1)",
                             {topic_});
          !n) {
        return fail(n.error());
      }
      // Partition 0 holds offsets 0-2, partition 1 offsets 0-1; the group
      // has handled partition 0's first.
      for (const auto& [part, offset] :
           std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 2}}) {
        const std::string payload = std::to_string(part) + "/" + std::to_string(offset);
        if (auto n = s.execute(
                "INSERT INTO messages (topic, part, msg_offset, msg_key, headers, payload, "
                "created_at) VALUES ($1, $2, $3, 'k', $4, $5, $6)",
                {topic_, part, offset, encode_headers({{"message-id", payload}}), payload,
                 int64_t{100} + offset});
            !n) {
          return fail(n.error());
        }
      }
      auto n = s.execute(
          "INSERT INTO group_offsets (group_name, topic, part, next_offset, updated_at) "
          "VALUES ('old-group', $1, 0, 1, 1)",
          {topic_});
      return n ? ok() : fail(n.error());
    }));
  }

  auto bus = testing::open_test_bus(old_dir.string());
  MessageLog log;
  auto sub = bus->subscribe(
      {.group = "old-group", .topics = {topic_}, .handler = [&log](const Message& m) {
         log.add(m);
         return ok();
       }});
  ASSERT_TRUE(sub) << sub.error().to_string();
  ASSERT_TRUE(log.wait_for(4));
  std::this_thread::sleep_for(200ms);
  std::set<std::string> got;
  for (const auto& m : log.all()) {
    got.insert(m.payload);
    EXPECT_EQ(m.payload, std::to_string(m.partition) + "/" + std::to_string(m.offset));
    EXPECT_EQ(m.id(), m.payload);
  }
  EXPECT_EQ(got, (std::set<std::string>{"0/1", "0/2", "1/0", "1/1"}));
  EXPECT_EQ(log.size(), 4u) << "partition 0's first message was handled before";

  // New appends go on from each partition's end.
  std::string key_of[2];
  for (int i = 0; key_of[0].empty() || key_of[1].empty(); ++i) {
    const std::string key = "key-" + std::to_string(i);
    key_of[partition_for(key, 2)] = key;
  }
  for (const auto& r : bus->publish(std::vector{message(key_of[0], 3), message(key_of[1], 2)})) {
    ASSERT_TRUE(r);
  }
  ASSERT_TRUE(log.wait_for(6));
  for (const auto& m : log.all()) {
    if (m.key == key_of[0]) {
      EXPECT_EQ(m.offset, 3);
    } else if (m.key == key_of[1]) {
      EXPECT_EQ(m.offset, 2);
    }
  }
  sub.value().reset();
  bus.reset();

  auto db = db::open_sqlite({.path = path});
  ASSERT_TRUE(db);
  auto schema = (*db)->transact([](db::Session& s) {
    return s.query("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'messages' ORDER BY name");
  });
  ASSERT_TRUE(schema);
  std::vector<std::string> names;
  for (const auto& r : *schema) names.push_back(r.get<std::string>(0));
  EXPECT_THAT(names,
              ::testing::ElementsAre("messages", "messages_by_age", "messages_by_partition"));
  EXPECT_THAT((*schema)[0].get<std::string>(1),
              ::testing::Not(::testing::HasSubstr("WITHOUT ROWID")));
}

// The embedded log with another process appending to its file: those
// messages reach a consumer here within the poll interval (500 ms in the
// tests), also while this process keeps appending and waking it.
TEST_F(BusContract, AnotherProcesssAppendsToTheFileArriveWhileThisOneKeepsAppending) {
  if (testing::testing_kafka()) GTEST_SKIP() << "about the embedded log's file";
  MessageLog log;
  auto sub = collect(testing::unique_name("g"), log);
  auto other = testing::open_test_bus(dir_.string());  // a second log on the same file
  std::atomic<bool> done{false};
  std::thread here([&] {
    for (int i = 0; !done; ++i) {
      for (const auto& r : bus_->publish(std::vector{message("here", i)})) EXPECT_TRUE(r);
      std::this_thread::sleep_for(5ms);
    }
  });
  constexpr int kThere = 20;
  for (int i = 0; i < kThere; ++i) {
    for (const auto& r : other->publish(std::vector{message("there-" + std::to_string(i), i)})) {
      ASSERT_TRUE(r);
    }
  }
  auto arrived = [&] {
    std::set<std::string> keys;
    for (const auto& m : log.all()) {
      if (m.key.starts_with("there-")) keys.insert(m.key);
    }
    return keys.size();
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (arrived() < kThere && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  done = true;
  here.join();
  EXPECT_EQ(arrived(), size_t{kThere});
}

TEST_F(BusContract, ConsumersOfOneGroupShareTheWorkAndTakeOverFromEachOther) {
  const std::string group = testing::unique_name("g");
  MessageLog a_log;
  MessageLog b_log;
  auto a = collect(group, a_log);
  if (!testing::testing_kafka()) {
    // The embedded log has one consumer per group in a process.
    auto second = bus_->subscribe(
        {.group = group, .topics = {topic_}, .handler = [](const Message&) { return ok(); }});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), ErrorCode::kFailedPrecondition);
    return;
  }
  auto b = collect(group, b_log);
  // Rounds of 200 messages until both members have had some: how long the
  // group takes to settle (both joined, partitions assigned) depends on the
  // broker, which on its first group is still loading its coordinator.
  // Messages handled, each counted once: a member that loses partitions in
  // a rebalance may have handled messages the next one gets again.
  const auto handled = [&] {
    std::set<std::string> ids;
    for (const auto* log : {&a_log, &b_log}) {
      for (const auto& m : log->all()) ids.insert(m.key + "#" + m.payload);
    }
    return ids.size();
  };
  size_t published = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int round = 0; round == 0 || a_log.size() == 0 || b_log.size() == 0; ++round) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "after " << published << " messages, one member still had none: a " << a_log.size()
        << ", b " << b_log.size();
    std::vector<OutgoingMessage> batch;
    batch.reserve(200);
    for (int i = 0; i < 200; ++i) batch.push_back(message("key-" + std::to_string(i), round));
    for (const auto& r : bus_->publish(batch)) ASSERT_TRUE(r);
    published += batch.size();
    while (handled() < published && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_EQ(handled(), published);

  // When one leaves, the other takes its partitions over.
  a->stop();
  const size_t before = b_log.size();
  std::vector<OutgoingMessage> batch;
  batch.reserve(100);
  for (int i = 0; i < 100; ++i) batch.push_back(message("key-" + std::to_string(i), -1));
  for (const auto& r : bus_->publish(batch)) ASSERT_TRUE(r);
  ASSERT_TRUE(b_log.wait_for(before + 100, 30s));
}

// Members join and leave while messages flow: each rebalance revokes the
// partitions in the middle of what a consumer has at hand. Every message is
// still handled, by one member or another.
TEST_F(BusContract, NothingIsSkippedWhileMembersComeAndGo) {
  if (!testing::testing_kafka()) GTEST_SKIP() << "the embedded log has one consumer per group";
  const std::string group = testing::unique_name("g");
  std::mutex mu;
  std::set<std::string> seen;
  auto member = [&] {
    return collect_into(group, [&](const Message& m) {
      std::lock_guard lock(mu);
      seen.insert(m.key + "#" + m.payload);
    });
  };
  constexpr int kKeys = 16;
  constexpr int kRounds = 150;
  std::atomic<bool> publishing{true};
  std::thread publisher([&] {
    for (int round = 0; round < kRounds; ++round) {
      std::vector<OutgoingMessage> batch;
      batch.reserve(kKeys);
      for (int k = 0; k < kKeys; ++k) batch.push_back(message("key-" + std::to_string(k), round));
      for (const auto& r : bus_->publish(batch)) EXPECT_TRUE(r);
      std::this_thread::sleep_for(20ms);
    }
    publishing = false;
  });
  auto a = member();
  std::this_thread::sleep_for(700ms);
  auto b = member();  // a rebalance
  std::this_thread::sleep_for(700ms);
  a.reset();  // and another
  std::this_thread::sleep_for(700ms);
  auto c = member();  // and a third
  publisher.join();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (seen.size() >= size_t{kKeys} * kRounds) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "messages were skipped";
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace
}  // namespace seatflow::bus
