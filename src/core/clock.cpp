#include "core/clock.hpp"

namespace seatflow {

int64_t to_unix_ms(WallTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

WallTime from_unix_ms(int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(Millis(ms)));
}

int64_t Clock::now_unix_ms() const { return to_unix_ms(now()); }

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

WallTime ManualClock::now() const {
  return WallTime(
      std::chrono::duration_cast<WallTime::duration>(std::chrono::microseconds(now_us_.load())));
}

}  // namespace seatflow
