// The Clock port: every component that needs "now" takes a Clock& so tests can
// drive time by hand (ManualClock) instead of sleeping.
//
// Thread safety: all implementations are safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace seatflow {

using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;

  // Wall-clock time: what is stored in rows and compared with expiries.
  virtual WallTime now() const = 0;

  // Milliseconds since the Unix epoch, the form times take in the database.
  int64_t now_unix_ms() const;
};

// The real clock.
class SystemClock final : public Clock {
 public:
  WallTime now() const override { return std::chrono::system_clock::now(); }

  // A process-wide instance for composition roots.
  static SystemClock& instance();
};

// A clock that only moves when told to. Starts at `start`.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime start = WallTime(std::chrono::seconds(1'767'225'600)))
      : now_us_(to_us(start)) {}

  WallTime now() const override;
  void advance(std::chrono::microseconds by) { now_us_.fetch_add(by.count()); }
  void set(WallTime to) { now_us_.store(to_us(to)); }

 private:
  static int64_t to_us(WallTime t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }

  std::atomic<int64_t> now_us_;
};

int64_t to_unix_ms(WallTime t);
WallTime from_unix_ms(int64_t ms);

}  // namespace seatflow
