// kill -9 of a process running the outbox relay and a consumer, in the
// middle of a batch; after a restart every message is delivered and none
// took effect twice.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "bus/outbox.hpp"
#include "db/migrations.hpp"
#include "tests/bus/test_bus.hpp"
#include "tests/db/test_database.hpp"

namespace seatflow::bus {
namespace {

using namespace std::chrono_literals;

constexpr int kMessages = 3000;

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / testing::unique_name("seatflow-crash");
    std::filesystem::create_directories(dir_);
    bus_ = testing::open_test_bus(dir_.string());
    topic_ = testing::unique_name("crash");
    ASSERT_TRUE(bus_->create_topics({{topic_, 4}}));
    db_ = test_db_.open();
    auto migrations = db::select_migrations(standalone_messaging_migration_files(), db_->dialect());
    ASSERT_TRUE(migrations);
    db::Migrator migrator(*db_, "test", std::move(*migrations), SystemClock::instance());
    ASSERT_TRUE(migrator.migrate());
    ASSERT_TRUE(db_->transact([](db::Session& s) {
      return s.execute_script("CREATE TABLE effects (message_id TEXT NOT NULL)");
    }));
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    bus_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void start_worker() {
    std::vector<std::string> args = {SEATFLOW_CRASH_WORKER};
    if (testing::testing_kafka()) {
      // Both are set: the fixture's set-up opened the database and the bus with them.
      const char* postgres = std::getenv("SEATFLOW_TEST_POSTGRES_URL");
      const char* kafka = std::getenv("SEATFLOW_TEST_KAFKA_BROKERS");
      args.insert(args.end(), {"--postgres", postgres != nullptr ? postgres : "", "--schema",
                               test_db_.name(), "--kafka", kafka != nullptr ? kafka : ""});
    } else {
      args.insert(args.end(), {"--sqlite", test_db_.name(), "--log", (dir_ / "bus.db").string()});
    }
    args.insert(args.end(),
                {"--topic", topic_, "--deliveries", (dir_ / "deliveries.txt").string()});
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  }

  int64_t count(const std::string& sql) {
    auto n = db_->transact([&](db::Session& s) -> Result<int64_t> {
      auto rows = s.query(sql);
      if (!rows) return fail(rows.error());
      return (*rows)[0].get<int64_t>(0);
    });
    return n ? *n : -1;
  }

  // Waits until `sql` counts at least `n`.
  bool wait_for_count(const std::string& sql, int64_t n, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (count(sql) >= n) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  db::testing::TestDatabase test_db_;
  std::unique_ptr<db::Database> db_;
  std::filesystem::path dir_;
  std::unique_ptr<Bus> bus_;
  std::string topic_;
  pid_t pid_ = -1;
};

TEST_F(CrashTest, KillNineMidBatchThenRestartDeliversEverythingOnce) {
  trace::Tracer tracer(trace::Sampler{}, nullptr);
  Outbox outbox(*db_, bus_->system(), tracer, SystemClock::instance());
  ASSERT_TRUE(db_->transact([&](db::Session& s) -> Status {
    for (int i = 0; i < kMessages; ++i) {
      auto id = outbox.add(s, {.topic = topic_,
                               .key = "key-" + std::to_string(i % 37),
                               .type = "crash.test",
                               .payload = std::to_string(i)});
      if (!id) return fail(id.error());
    }
    return ok();
  }));

  start_worker();
  // Kill it once a good part of the messages is through, with batches in flight.
  // A row is deleted once the bus has acknowledged its message.
  const std::string sent = "SELECT " + std::to_string(kMessages) + " - COUNT(*) FROM outbox";
  ASSERT_TRUE(wait_for_count(sent, kMessages / 4, 60s));
  ASSERT_EQ(kill(pid_, SIGKILL), 0);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  const int64_t sent_by_kill = count(sent);
  EXPECT_LT(sent_by_kill, kMessages) << "the kill came too late to test anything";

  start_worker();
  ASSERT_TRUE(wait_for_count("SELECT COUNT(*) FROM effects", kMessages, 120s))
      << count("SELECT COUNT(*) FROM effects") << " effects";
  ASSERT_TRUE(wait_for_count(sent, kMessages, 60s));
  std::this_thread::sleep_for(500ms);  // anything still in flight lands now
  EXPECT_EQ(count("SELECT COUNT(*) FROM effects"), kMessages) << "none processed twice";
  EXPECT_EQ(count("SELECT COUNT(DISTINCT message_id) FROM effects"), kMessages)
      << "every message delivered";

  std::ifstream in(dir_ / "deliveries.txt");
  std::string line;
  size_t deliveries = 0;
  std::set<std::string> distinct;
  while (std::getline(in, line)) {
    ++deliveries;
    distinct.insert(line);
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kMessages));
  std::printf(
      "crash test: %lld of %d sent and deleted at the kill; %zu deliveries for %d messages\n",
      static_cast<long long>(sent_by_kill), kMessages, deliveries, kMessages);
}

}  // namespace
}  // namespace seatflow::bus
