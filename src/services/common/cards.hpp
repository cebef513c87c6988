// Card numbers as buyers type them: normalization and the Luhn check.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace seatflow::services {

// The digits of `input` with spaces and dashes removed.
std::string normalize_card_number(std::string_view input);

// 12 to 19 digits passing the Luhn check.
bool valid_card_number(std::string_view digits);

}  // namespace seatflow::services
