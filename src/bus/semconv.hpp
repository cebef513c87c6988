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

inline constexpr char kMessageIdAttr[] = "messaging.message.id";
inline constexpr char kMessageKeyAttr[] = "messaging.kafka.message.key";
inline constexpr char kPartitionAttr[] = "messaging.destination.partition.id";
inline constexpr char kOffsetAttr[] = "messaging.kafka.offset";
inline constexpr char kConsumerGroupAttr[] = "messaging.consumer.group.name";

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
