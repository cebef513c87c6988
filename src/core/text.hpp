// Small text helpers shared by components: JSON string escaping and hex digits.
//
// Thread safety: pure functions.
#pragma once

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

}  // namespace seatflow
