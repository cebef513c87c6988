// Small text helpers shared by components: JSON string escaping, hex digits,
// UTF-8 checks and a hash for looking text up without copying it.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace seatflow {

// Appends `s` to `out` as a JSON string literal, quotes included, escaping
// quotes, backslashes and control characters.
void append_json_string(std::string& out, std::string_view s);

// The value of a hexadecimal digit (either case), or -1.
int hex_digit_value(char c);

// A hash of text for unordered containers keyed by std::string that are
// searched with a std::string_view or a literal without copying it into a
// key first (with std::equal_to<> as the key equality).
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

// ASCII case-insensitive equality, for header names and media types.
bool iequals(std::string_view a, std::string_view b);

// `s` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

// True when every byte of `s` is ASCII, as most keys and values are: such
// text needs no UTF-8 check. Inline, a word at a time: it runs for each
// attribute a span records. The last bytes are one more word read, which
// overlaps the one before, not a loop a byte at a time; text shorter than
// a word is read as two overlapping halves, quarters or bytes.
inline bool is_ascii(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  const auto load = [](const char* at, auto word) {
    std::memcpy(&word, at, sizeof word);
    return static_cast<uint64_t>(word);
  };
  uint64_t high = 0;
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) high |= load(p + i, uint64_t{});
    high |= load(p + n - 8, uint64_t{});
  } else if (n >= 4) {
    high = load(p, uint32_t{}) | load(p + n - 4, uint32_t{});
  } else if (n >= 2) {
    high = load(p, uint16_t{}) | load(p + n - 2, uint16_t{});
  } else if (n == 1) {
    high = static_cast<unsigned char>(p[0]);
  }
  return (high & 0x8080808080808080ULL) == 0;
}

// Whether `s` is valid UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF), and `s` with every invalid sequence replaced by U+FFFD.
bool valid_utf8(std::string_view s);
std::string repair_utf8(std::string_view s);

// Appends the UTF-8 sequence that starts at s[i], a byte of 0x80 or above,
// or U+FFFD when it is not valid; returns how many bytes of `s` it took.
size_t append_utf8_sequence(std::string& out, std::string_view s, size_t i);

}  // namespace seatflow
