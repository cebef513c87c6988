#include "bus/bus.hpp"

#include <algorithm>

namespace seatflow::bus {

Status Publisher::publish_one(const OutgoingMessage& message) {
  auto results = publish(std::span<const OutgoingMessage>(&message, 1));
  return results.empty() ? fail(ErrorCode::kInternal, "publish returned no outcome")
                         : std::move(results.front());
}

bool valid_topic_name(std::string_view name) {
  return !name.empty() && name.size() <= 249 && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

}  // namespace seatflow::bus
