#include "services/common/json_fields.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>

#include <fmt/core.h>

namespace seatflow::services {
namespace {

Error field_error(std::string_view key, std::string_view problem) {
  return Error(ErrorCode::kInvalidArgument, fmt::format("field '{}' {}", key, problem));
}

}  // namespace

Result<const boost::json::object*> as_object(const boost::json::value& value,
                                             std::string_view what) {
  if (!value.is_object()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} must be a JSON object", what));
  }
  return &value.get_object();
}

Result<std::optional<std::string>> optional_string_field(const boost::json::object& object,
                                                         std::string_view key, size_t max_length) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return fail(field_error(key, "must be a string"));
  const auto& s = v->get_string();
  if (s.empty() || s.size() > max_length) {
    return fail(field_error(key, fmt::format("must have 1 to {} characters", max_length)));
  }
  return std::optional<std::string>(std::string(s));
}

Result<std::string> string_field(const boost::json::object& object, std::string_view key,
                                 size_t max_length) {
  auto s = optional_string_field(object, key, max_length);
  if (!s) return fail(s.error());
  if (!*s) return fail(field_error(key, "is required"));
  return std::move(**s);
}

Result<std::string> currency_field(const boost::json::object& object, std::string_view key) {
  auto code = string_field(object, key);
  if (!code) return code;
  if (code->size() != 3 ||
      !std::all_of(code->begin(), code->end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return fail(field_error(key, "must be an ISO 4217 code in capitals, such as EUR"));
  }
  return code;
}

Result<int64_t> integer_field(const boost::json::object& object, std::string_view key, int64_t min,
                              int64_t max) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr) return fail(field_error(key, "is required"));
  int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= uint64_t{INT64_MAX}) {
    n = static_cast<int64_t>(v->get_uint64());
  } else {
    return fail(field_error(key, "must be an integer"));
  }
  if (n < min || n > max) return fail(field_error(key, fmt::format("must be {} to {}", min, max)));
  return n;
}

Result<const boost::json::array*> array_field(const boost::json::object& object,
                                              std::string_view key, size_t max_size) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr) return fail(field_error(key, "is required"));
  if (!v->is_array()) return fail(field_error(key, "must be an array"));
  const auto& a = v->get_array();
  if (a.empty() || a.size() > max_size) {
    return fail(field_error(key, fmt::format("must have 1 to {} elements", max_size)));
  }
  return &a;
}

Result<int64_t> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not an RFC 3339 time such as 2027-03-01T19:30:00Z", text));
  };
  auto number = [&](size_t pos, size_t len, int& out) {
    if (pos + len > text.size()) return false;
    const char* b = text.data() + pos;
    auto [end, ec] = std::from_chars(b, b + len, out);
    return ec == std::errc() && end == b + len;
  };
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' ||
      !number(0, 4, year) || !number(5, 2, month) || !number(8, 2, day) || !number(11, 2, hour) ||
      !number(14, 2, minute) || !number(17, 2, second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (text[pos] == '.') {
    int64_t scale = 100;
    ++pos;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) {
    // UTC
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') &&
             text[pos + 3] == ':') {
    int oh = 0;
    int om = 0;
    if (!number(pos + 1, 2, oh) || !number(pos + 4, 2, om) || oh > 23 || om > 59) return bad();
    offset_minutes = (text[pos] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t seconds = timegm(&tm);
  return (seconds - int64_t{offset_minutes} * 60) * 1000 + millis;
}

std::string format_rfc3339(int64_t unix_ms) {
  // Calendar arithmetic, not gmtime_r: glibc's takes a process-wide lock,
  // and every hold and session answer carries a time.
  using namespace std::chrono;
  const sys_time<milliseconds> at{milliseconds(unix_ms)};
  const auto day = floor<days>(at);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> time{at - day};
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) {
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", year,
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                       time.hours().count(), time.minutes().count(), time.seconds().count(),
                       time.subseconds().count());
  }
  std::string out = "0000-00-00T00:00:00.000Z";
  const auto put = [&out](size_t at_index, int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) {
      out[at_index + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
    }
  };
  put(0, year, 4);
  put(5, static_cast<unsigned>(date.month()), 2);
  put(8, static_cast<unsigned>(date.day()), 2);
  put(11, time.hours().count(), 2);
  put(14, time.minutes().count(), 2);
  put(17, time.seconds().count(), 2);
  put(20, time.subseconds().count(), 3);
  return out;
}

}  // namespace seatflow::services
