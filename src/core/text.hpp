// Small text helpers shared by components: JSON string escaping, hex digits
// and UTF-8 checks.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace seatflow {

// Appends `s` to `out` as a JSON string literal, quotes included, escaping
// quotes, backslashes and control characters.
void append_json_string(std::string& out, std::string_view s);

// The value of a hexadecimal digit (either case), or -1.
int hex_digit_value(char c);

// ASCII case-insensitive equality, for header names and media types.
bool iequals(std::string_view a, std::string_view b);

// `s` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

// True when every byte of `s` is ASCII, as most keys and values are: such
// text needs no UTF-8 check. Inline, a word at a time: it runs for each
// attribute a span records.
inline bool is_ascii(std::string_view s) {
  uint64_t high = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, 8);
    high |= w;
  }
  for (; i < s.size(); ++i) high |= static_cast<unsigned char>(s[i]);
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
