#include "core/thread_name.hpp"

#include <pthread.h>

#include <array>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

namespace seatflow {
namespace {

// The name a new thread reads back after set_thread_name(`name`).
std::string named_on_a_thread(std::string_view name) {
  std::string seen;
  std::thread([&] {
    set_thread_name(name);
    std::array<char, 64> buffer{};
    pthread_getname_np(pthread_self(), buffer.data(), buffer.size());
    seen = buffer.data();
  }).join();
  return seen;
}

TEST(ThreadName, NamesTheCallingThread) {
  EXPECT_EQ(named_on_a_thread("saga-worker"), "saga-worker");
}

TEST(ThreadName, CutsALongNameAtFifteenBytes) {
  EXPECT_EQ(named_on_a_thread("bus:order.live.host-1234"), "bus:order.live.");
}

}  // namespace
}  // namespace seatflow
