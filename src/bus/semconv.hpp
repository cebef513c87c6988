// OpenTelemetry messaging semantic conventions, as Seatflow's bus spans use
// them: span names "<operation> <topic>", and these attributes.
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "trace/span.hpp"

namespace seatflow::bus {

inline constexpr std::string_view kOperationCreate = "create";
inline constexpr std::string_view kOperationSend = "send";
inline constexpr std::string_view kOperationProcess = "process";

inline constexpr std::string_view kMessageIdAttr = "messaging.message.id";
inline constexpr std::string_view kMessageKeyAttr = "messaging.kafka.message.key";
inline constexpr std::string_view kPartitionAttr = "messaging.destination.partition.id";
inline constexpr std::string_view kOffsetAttr = "messaging.kafka.offset";
inline constexpr std::string_view kConsumerGroupAttr = "messaging.consumer.group.name";

// messaging.system, messaging.operation.type and .name, messaging.destination.name.
inline void set_messaging_attributes(trace::Span& span, std::string_view system,
                                     std::string_view operation, std::string_view topic) {
  if (!span.recording()) return;
  span.set_attribute("messaging.system", system);
  span.set_attribute("messaging.operation.type", operation);
  span.set_attribute("messaging.operation.name", operation);
  span.set_attribute("messaging.destination.name", topic);
}

}  // namespace seatflow::bus
