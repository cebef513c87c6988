#include "services/common/cards.hpp"

namespace seatflow::services {

std::string normalize_card_number(std::string_view input) {
  std::string digits;
  for (char c : input) {
    if (c == ' ' || c == '-') continue;
    digits.push_back(c);
  }
  return digits;
}

bool valid_card_number(std::string_view digits) {
  if (digits.size() < 12 || digits.size() > 19) return false;
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {  // from the rightmost digit
    const char c = digits[i];
    if (c < '0' || c > '9') return false;
    int d = c - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

}  // namespace seatflow::services
