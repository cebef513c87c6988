#include "tests/bus/test_bus.hpp"

#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

#include "bus/embedded_log.hpp"
#include "bus/kafka_bus.hpp"

#ifndef SEATFLOW_TEST_KAFKA
#define SEATFLOW_TEST_KAFKA 0
#endif

namespace seatflow::bus::testing {

bool testing_kafka() { return SEATFLOW_TEST_KAFKA != 0; }

std::string unique_name(std::string_view prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(prefix);
  out.push_back('-');
  for (int i = 0; i < 10; ++i) out.push_back(kAlphabet[rng() % 36]);
  return out;
}

std::unique_ptr<Bus> open_test_bus(const std::string& dir) {
  Result<std::unique_ptr<Bus>> bus = fail(ErrorCode::kInternal, "no bus");
  if (testing_kafka()) {
    const char* brokers = std::getenv("SEATFLOW_TEST_KAFKA_BROKERS");
    if (brokers == nullptr || *brokers == '\0') {
      ADD_FAILURE() << "SEATFLOW_TEST_KAFKA_BROKERS is not set: run the suite with "
                       "scripts/test.sh, which starts a throwaway Kafka broker and sets it";
      std::abort();
    }
    bus = open_kafka({.brokers = brokers,
                      .client_id = "seatflow-test",
                      .commit_interval = std::chrono::milliseconds(50)});
  } else {
    bus = open_embedded_log(
        {.path = dir + "/bus.db", .poll_interval = std::chrono::milliseconds(500)},
        SystemClock::instance());
  }
  if (!bus) {
    ADD_FAILURE() << "cannot open the bus: " << bus.error().to_string();
    std::abort();
  }
  return std::move(*bus);
}

void MessageLog::add(const Message& m) {
  std::lock_guard lock(mu_);
  messages_.push_back(m);
  cv_.notify_all();
}

std::vector<Message> MessageLog::all() const {
  std::lock_guard lock(mu_);
  return messages_;
}

size_t MessageLog::size() const {
  std::lock_guard lock(mu_);
  return messages_.size();
}

bool MessageLog::wait_for(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
}

}  // namespace seatflow::bus::testing
