#include "app/process.hpp"

#include <sched.h>

#include <thread>

#include <gtest/gtest.h>

namespace seatflow::app {
namespace {

// The policy of a thread started by the calling one after `policy` applied
// to the caller, and of the caller itself. Runs on a thread of its own, so
// that the test process keeps its own policy.
std::pair<int, int> policies_after(const std::string& policy) {
  std::pair<int, int> seen{-1, -1};
  std::thread([&] {
    apply_cpu_scheduling(policy);
    seen.first = ::sched_getscheduler(0);
    std::thread([&] { seen.second = ::sched_getscheduler(0); }).join();
  }).join();
  return seen;
}

TEST(CpuScheduling, BatchCoversTheCallerAndEveryThreadItStartsLater) {
  const auto [caller, child] = policies_after("batch");
  EXPECT_EQ(caller, SCHED_BATCH);
  EXPECT_EQ(child, SCHED_BATCH);
}

TEST(CpuScheduling, UnchangedKeepsThePolicyTheProcessHas) {
  const int before = ::sched_getscheduler(0);
  const auto [caller, child] = policies_after("unchanged");
  EXPECT_EQ(caller, before);
  EXPECT_EQ(child, before);
}

}  // namespace
}  // namespace seatflow::app
