// The bus under test, and what the contract suite needs around it.
//
// One binary per pairing (tests/CMakeLists.txt): the embedded log with a
// SQLite service database, or Kafka (SEATFLOW_TEST_KAFKA_BROKERS, started by
// scripts/test.sh) with a PostgreSQL one, as embedded and distributed mode
// pair them. Each test gets fresh topics, consumer groups and database.
//
// Thread safety: MessageLog is safe from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "core/clock.hpp"

namespace seatflow::bus::testing {

// A new bus handle; the embedded log lives in `dir` (the same file each call).
std::unique_ptr<Bus> open_test_bus(const std::string& dir);
bool testing_kafka();
std::string unique_name(std::string_view prefix);

// Every message a handler saw, in order.
class MessageLog {
 public:
  void add(const Message& m);
  std::vector<Message> all() const;
  size_t size() const;
  // Waits until at least `n` messages arrived; false on timeout.
  bool wait_for(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Message> messages_;
};

}  // namespace seatflow::bus::testing
