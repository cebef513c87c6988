// Reading the fields of JSON request bodies, with errors that say which
// field is wrong and why (they become 400 problem responses).
//
// Thread safety: pure functions.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace seatflow::services {

// `value` as an object; `what` names it in the error ("the request body").
Result<const boost::json::object*> as_object(const boost::json::value& value,
                                             std::string_view what = "the request body");

// A required string of 1..max_length characters.
Result<std::string> string_field(const boost::json::object& object, std::string_view key,
                                 size_t max_length = 200);
// An optional string: nullopt when absent or null.
Result<std::optional<std::string>> optional_string_field(const boost::json::object& object,
                                                         std::string_view key,
                                                         size_t max_length = 200);

// A required currency: an ISO 4217 code in capitals ("EUR").
Result<std::string> currency_field(const boost::json::object& object,
                                   std::string_view key = "currency");

// A required integer within [min, max].
Result<int64_t> integer_field(const boost::json::object& object, std::string_view key, int64_t min,
                              int64_t max);

// A required array of 1..max_size elements.
Result<const boost::json::array*> array_field(const boost::json::object& object,
                                              std::string_view key, size_t max_size);

// "2027-03-01T19:30:00Z" (RFC 3339, UTC or with an offset) to Unix ms.
Result<int64_t> parse_rfc3339(std::string_view text);
// Unix ms to "2027-03-01T19:30:00.000Z".
std::string format_rfc3339(int64_t unix_ms);

}  // namespace seatflow::services
