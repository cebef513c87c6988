// Small text helpers shared by components: JSON string escaping, hex digits
// and UTF-8 checks.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
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

// Whether `s` is valid UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF), and `s` with every invalid sequence replaced by U+FFFD.
bool valid_utf8(std::string_view s);
std::string repair_utf8(std::string_view s);

// Appends the UTF-8 sequence that starts at s[i], a byte of 0x80 or above,
// or U+FFFD when it is not valid; returns how many bytes of `s` it took.
size_t append_utf8_sequence(std::string& out, std::string_view s, size_t i);

}  // namespace seatflow
