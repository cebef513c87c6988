#include "core/thread_name.hpp"

#include <pthread.h>

#include <array>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace seatflow {
namespace {

std::string name_of(pthread_t thread) {
  std::array<char, 64> name{};
  pthread_getname_np(thread, name.data(), name.size());
  return name.data();
}

TEST(ThreadName, NamesTheCallingThread) {
  std::string seen;
  std::thread([&] {
    set_thread_name("saga-worker");
    seen = name_of(pthread_self());
  }).join();
  EXPECT_EQ(seen, "saga-worker");
}

TEST(ThreadName, CutsALongNameAtFifteenBytes) {
  std::string seen;
  std::thread([&] {
    set_thread_name("bus:order.live.host-1234");
    seen = name_of(pthread_self());
  }).join();
  EXPECT_EQ(seen, "bus:order.live.");
}

}  // namespace
}  // namespace seatflow
