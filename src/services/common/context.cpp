#include "services/common/context.hpp"

namespace seatflow::services {

std::string seat_stream_topic(std::string_view event_id) {
  return "seats/" + std::string(event_id);
}

std::string order_stream_topic(std::string_view order_id) {
  return "orders/" + std::string(order_id);
}

}  // namespace seatflow::services
