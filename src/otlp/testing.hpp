// For tests: reads an OTLP protobuf ExportTraceServiceRequest back into the
// shape of the OTLP JSON mapping (the same field names, ids as hex, 64-bit
// integers as decimal strings), so that tests can compare the two encodings
// and inspect protobuf bodies as they inspect JSON ones. Fields that are
// empty are left out, as protobuf leaves them out.
//
// A minimal schema-driven reader over the fields Seatflow writes; it throws
// std::runtime_error on bytes that are not a well-formed message.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace seatflow::otlp::testing {

enum class Kind { kMessage, kString, kHex, kInt, kDecimal, kBool, kDouble };

struct Field {
  std::string_view name;
  Kind kind;
  std::string_view message;  // the nested message's name, for kMessage
  bool repeated = false;
};

inline const std::map<std::string_view, std::map<uint32_t, Field>>& schema() {
  static const std::map<std::string_view, std::map<uint32_t, Field>> kSchema = {
      {"Request", {{1, {"resourceSpans", Kind::kMessage, "ResourceSpans", true}}}},
      {"ResourceSpans",
       {{1, {"resource", Kind::kMessage, "Resource"}},
        {2, {"scopeSpans", Kind::kMessage, "ScopeSpans", true}}}},
      {"Resource", {{1, {"attributes", Kind::kMessage, "KeyValue", true}}}},
      {"ScopeSpans",
       {{1, {"scope", Kind::kMessage, "Scope"}}, {2, {"spans", Kind::kMessage, "Span", true}}}},
      {"Scope", {{1, {"name", Kind::kString, ""}}, {2, {"version", Kind::kString, ""}}}},
      {"Span",
       {{1, {"traceId", Kind::kHex, ""}},
        {2, {"spanId", Kind::kHex, ""}},
        {3, {"traceState", Kind::kString, ""}},
        {4, {"parentSpanId", Kind::kHex, ""}},
        {5, {"name", Kind::kString, ""}},
        {6, {"kind", Kind::kInt, ""}},
        {7, {"startTimeUnixNano", Kind::kDecimal, ""}},
        {8, {"endTimeUnixNano", Kind::kDecimal, ""}},
        {9, {"attributes", Kind::kMessage, "KeyValue", true}},
        {11, {"events", Kind::kMessage, "Event", true}},
        {13, {"links", Kind::kMessage, "Link", true}},
        {15, {"status", Kind::kMessage, "Status"}},
        {16, {"flags", Kind::kInt, ""}}}},
      {"Event",
       {{1, {"timeUnixNano", Kind::kDecimal, ""}},
        {2, {"name", Kind::kString, ""}},
        {3, {"attributes", Kind::kMessage, "KeyValue", true}}}},
      {"Link",
       {{1, {"traceId", Kind::kHex, ""}},
        {2, {"spanId", Kind::kHex, ""}},
        {3, {"traceState", Kind::kString, ""}},
        {4, {"attributes", Kind::kMessage, "KeyValue", true}},
        {6, {"flags", Kind::kInt, ""}}}},
      {"Status", {{2, {"message", Kind::kString, ""}}, {3, {"code", Kind::kInt, ""}}}},
      {"KeyValue", {{1, {"key", Kind::kString, ""}}, {2, {"value", Kind::kMessage, "AnyValue"}}}},
      {"AnyValue",
       {{1, {"stringValue", Kind::kString, ""}},
        {2, {"boolValue", Kind::kBool, ""}},
        {3, {"intValue", Kind::kDecimal, ""}},
        {4, {"doubleValue", Kind::kDouble, ""}}}},
  };
  return kSchema;
}

inline boost::json::object decode(std::string_view bytes, std::string_view message = "Request") {
  const auto& fields = schema().at(message);
  boost::json::object out;
  size_t i = 0;
  const auto need = [&](size_t n) {
    if (bytes.size() - i < n) throw std::runtime_error("truncated protobuf message");
  };
  const auto varint = [&] {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      const auto b = static_cast<unsigned char>(bytes[i++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    throw std::runtime_error("varint too long");
  };
  const auto fixed = [&](size_t n) {
    need(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i + k])) << (8 * k);
    i += n;
    return v;
  };
  while (i < bytes.size()) {
    const uint64_t key = varint();
    const auto number = static_cast<uint32_t>(key >> 3);
    const auto type = key & 7;
    uint64_t number_value = 0;
    std::string_view chunk;
    if (type == 0) {
      number_value = varint();
    } else if (type == 1) {
      number_value = fixed(8);
    } else if (type == 5) {
      number_value = fixed(4);
    } else if (type == 2) {
      const uint64_t length = varint();
      need(length);
      chunk = bytes.substr(i, length);
      i += length;
    } else {
      throw std::runtime_error("unexpected wire type " + std::to_string(type));
    }
    auto it = fields.find(number);
    if (it == fields.end()) throw std::runtime_error("unexpected field " + std::to_string(number));
    const Field& f = it->second;
    boost::json::value v;
    switch (f.kind) {
      case Kind::kMessage: v = decode(chunk, f.message); break;
      case Kind::kString: v = boost::json::string(chunk); break;
      case Kind::kHex: {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string hex;
        for (unsigned char c : chunk) {
          hex.push_back(kHex[c >> 4]);
          hex.push_back(kHex[c & 0xf]);
        }
        v = boost::json::string(hex);
        break;
      }
      case Kind::kInt: v = static_cast<int64_t>(number_value); break;
      case Kind::kDecimal:
        v = boost::json::string(std::to_string(static_cast<int64_t>(number_value)));
        break;
      case Kind::kBool: v = number_value != 0; break;
      case Kind::kDouble: {
        double d = 0;
        std::memcpy(&d, &number_value, sizeof d);
        v = d;
        break;
      }
    }
    if (f.repeated) {
      auto& list = out[f.name];
      if (!list.is_array()) list = boost::json::array();
      list.as_array().push_back(std::move(v));
    } else {
      out[f.name] = std::move(v);
    }
  }
  return out;
}

// `value` without empty arrays and objects, which the JSON encoding writes
// and the protobuf one leaves out.
inline boost::json::value without_empty(const boost::json::value& value) {
  if (value.is_object()) {
    boost::json::object out;
    for (const auto& [k, v] : value.get_object()) {
      boost::json::value kept = without_empty(v);
      if ((kept.is_object() && kept.get_object().empty()) ||
          (kept.is_array() && kept.get_array().empty())) {
        continue;
      }
      out[k] = std::move(kept);
    }
    return out;
  }
  if (value.is_array()) {
    boost::json::array out;
    for (const auto& v : value.get_array()) out.push_back(without_empty(v));
    return out;
  }
  return value;
}

}  // namespace seatflow::otlp::testing
