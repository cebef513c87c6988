#include "core/uuid.hpp"

#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace seatflow {
namespace {

TEST(Uuid, V7HasVersionVariantAndTimestamp) {
  ManualClock clock;
  UuidV7Generator ids(clock);
  const Uuid id = ids.next();
  EXPECT_EQ(id.version(), 7);
  EXPECT_EQ(id.bytes()[8] & 0xc0, 0x80);  // RFC 9562 variant
  EXPECT_EQ(id.unix_ms(), clock.now_unix_ms());
}

TEST(Uuid, FormatsAndParsesCanonicalForm) {
  const auto id = Uuid::parse("0192F3A4-5B6C-7D8E-9F01-23456789ABCD");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->to_string(), "0192f3a4-5b6c-7d8e-9f01-23456789abcd");
  EXPECT_EQ(Uuid::parse(id->to_string()), id);
}

TEST(Uuid, RejectsMalformedText) {
  EXPECT_FALSE(Uuid::parse(""));
  EXPECT_FALSE(Uuid::parse("0192f3a4-5b6c-7d8e-9f01-23456789abc"));    // short
  EXPECT_FALSE(Uuid::parse("0192f3a4x5b6c-7d8e-9f01-23456789abcd"));   // bad dash
  EXPECT_FALSE(Uuid::parse("0192f3a4-5b6c-7d8e-9f01-23456789abcg"));   // bad hex
  EXPECT_FALSE(Uuid::parse("{0192f3a4-5b6c-7d8e-9f01-23456789abc}"));  // braces
}

TEST(Uuid, StrictlyIncreasingWithinOneMillisecond) {
  ManualClock clock;  // time never moves: all ids share one millisecond
  UuidV7Generator ids(clock);
  Uuid previous = ids.next();
  for (int i = 0; i < 10'000; ++i) {  // overflows the 12-bit counter several times
    const Uuid next = ids.next();
    ASSERT_LT(previous, next) << "at " << i;
    previous = next;
  }
}

TEST(Uuid, SortsByCreationTime) {
  ManualClock clock;
  UuidV7Generator ids(clock);
  const Uuid first = ids.next();
  clock.advance(std::chrono::milliseconds(1));
  const Uuid second = ids.next();
  EXPECT_LT(first.to_string(), second.to_string());
  EXPECT_EQ(second.unix_ms() - first.unix_ms(), 1);
}

TEST(Uuid, UniqueAcrossThreads) {
  UuidV7Generator ids(SystemClock::instance());
  std::vector<std::vector<Uuid>> made(4);
  std::vector<std::thread> threads;
  for (auto& out : made) {
    out.reserve(5'000);
    threads.emplace_back([&ids, &out] {
      for (int i = 0; i < 5'000; ++i) out.push_back(ids.next());
    });
  }
  for (auto& t : threads) t.join();
  std::set<Uuid> all;
  for (const auto& v : made) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 20'000u);
}

}  // namespace
}  // namespace seatflow
