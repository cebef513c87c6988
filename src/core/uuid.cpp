#include "core/uuid.hpp"

#include <random>

#include "core/text.hpp"

namespace seatflow {
namespace {

uint64_t random_u64() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return engine();
}

}  // namespace

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::array<uint8_t, 16> bytes{};
  size_t out = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_digit_value(text[i]);
    const int lo = hex_digit_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[out++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return Uuid(bytes);
}

int64_t Uuid::unix_ms() const {
  int64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = ms << 8 | bytes_[i];
  return ms;
}

std::string Uuid::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes_.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes_[i] >> 4]);
    out.push_back(kHex[bytes_[i] & 0xf]);
  }
  return out;
}

UuidV7Generator::UuidV7Generator(const Clock& clock) : clock_(clock) {}

Uuid UuidV7Generator::next() {
  const int64_t now_ms = clock_.now_unix_ms();
  int64_t ms = 0;
  uint16_t counter = 0;
  {
    std::lock_guard lock(mu_);
    if (now_ms > last_ms_) {
      last_ms_ = now_ms;
      // Seed with the top bit clear so a burst has 2^11 ids of headroom.
      counter_ = static_cast<uint16_t>(random_u64() & 0x7ff);
    } else if (++counter_ > 0xfff) {
      ++last_ms_;  // counter exhausted (or the clock went back): borrow the next ms
      counter_ = 0;
    }
    ms = last_ms_;
    counter = counter_;
  }

  std::array<uint8_t, 16> b{};
  for (int i = 5; i >= 0; --i) {
    b[static_cast<size_t>(i)] = static_cast<uint8_t>(ms & 0xff);
    ms >>= 8;
  }
  b[6] = static_cast<uint8_t>(0x70 | (counter >> 8));
  b[7] = static_cast<uint8_t>(counter & 0xff);
  uint64_t rand_b = random_u64();
  for (size_t i = 8; i < 16; ++i) {
    b[i] = static_cast<uint8_t>(rand_b & 0xff);
    rand_b >>= 8;
  }
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // variant 10
  return Uuid(b);
}

}  // namespace seatflow
