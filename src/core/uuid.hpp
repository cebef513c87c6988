// UUIDs, and the UUIDv7 generator (RFC 9562) that makes every Seatflow id.
//
// A v7 id starts with its creation time in Unix milliseconds, so ids sort by
// creation time and index well as primary keys. Within one generator ids are
// strictly increasing: ids made in the same millisecond carry a 12-bit counter
// in `rand_a` (RFC 9562 section 6.2, method 1) and, if that overflows, borrow
// the next millisecond.
//
// Thread safety: Uuid is a value type. UuidV7Generator::next() may be called
// from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace seatflow {

class Uuid {
 public:
  Uuid() = default;  // the nil UUID
  explicit Uuid(const std::array<uint8_t, 16>& bytes) : bytes_(bytes) {}

  // Accepts the canonical 8-4-4-4-12 form, hex in either case.
  static std::optional<Uuid> parse(std::string_view text);

  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  int version() const { return bytes_[6] >> 4; }
  bool is_nil() const { return *this == Uuid(); }

  // For a v7 id, the Unix millisecond it was made in.
  int64_t unix_ms() const;

  // Canonical lowercase 36-character form.
  std::string to_string() const;

  friend auto operator<=>(const Uuid&, const Uuid&) = default;  // NOLINT(modernize-use-nullptr)

 private:
  std::array<uint8_t, 16> bytes_{};
};

class UuidV7Generator {
 public:
  explicit UuidV7Generator(const Clock& clock);

  Uuid next();

 private:
  const Clock& clock_;

  std::mutex mu_;
  int64_t last_ms_ = 0;   // guarded by mu_
  uint16_t counter_ = 0;  // guarded by mu_; 12 bits used
};

}  // namespace seatflow
