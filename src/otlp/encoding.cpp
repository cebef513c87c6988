#include "otlp/encoding.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fmt/format.h>

#include "core/text.hpp"
#include "http/message.hpp"

namespace seatflow::otlp {
namespace {

// Appends a string literal, its length known at compile time.
template <size_t N>
void put(std::string& out, const char (&literal)[N]) {
  out.append(literal, N - 1);
}

void put_uint(std::string& out, unsigned value) {
  const fmt::format_int digits(value);
  out.append(digits.data(), digits.size());
}

// True when none of the 8 bytes of `w` needs escaping or repair: each is
// printable ASCII (0x20..0x7e) other than '"' and '\\'.
bool plain_word(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  const uint64_t above_tilde = ((w + kOnes) | w) & kHigh;  // 0x7f and up
  return (below_space | above_tilde | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'))) ==
         0;
}

// Bytes that a JSON string can carry as they are: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x7f; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

void append_hex(std::string& out, const auto& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 2 + 2 * sizeof(bytes)> text;
  size_t n = 0;
  text[n++] = '"';
  for (uint8_t b : bytes) {
    text[n++] = kHex[b >> 4];
    text[n++] = kHex[b & 0xf];
  }
  text[n++] = '"';
  out.append(text.data(), n);
}

void append_int_string(std::string& out, int64_t value) {
  const fmt::format_int digits(value);
  out.push_back('"');
  out.append(digits.data(), digits.size());
  out.push_back('"');
}

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    put(out, "\"NaN\"");
  } else if (std::isinf(value)) {
    out += value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", value);
  }
}

void append_any_value(std::string& out, const trace::AttributeValue& value) {
  std::visit(
      [&out](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) {
          put(out, "{\"stringValue\":");
          append_json_utf8(out, v);
        } else if constexpr (std::is_same_v<V, bool>) {
          out += v ? "{\"boolValue\":true" : "{\"boolValue\":false";
        } else if constexpr (std::is_same_v<V, int64_t>) {
          put(out, "{\"intValue\":");
          append_int_string(out, v);
        } else {
          put(out, "{\"doubleValue\":");
          append_double(out, v);
        }
        out.push_back('}');
      },
      value);
}

void append_attributes(std::string& out, const std::vector<trace::Attribute>& attributes) {
  put(out, "\"attributes\":[");
  bool first = true;
  for (const auto& attribute : attributes) {
    if (!first) out.push_back(',');
    first = false;
    put(out, "{\"key\":");
    append_json_utf8(out, attribute.key);
    put(out, ",\"value\":");
    append_any_value(out, attribute.value);
    out.push_back('}');
  }
  out.push_back(']');
}

void append_span(std::string& out, const trace::SpanData& span) {
  put(out, "{\"traceId\":");
  append_hex(out, span.context.trace_id.bytes);
  put(out, ",\"spanId\":");
  append_hex(out, span.context.span_id.bytes);
  if (!span.context.trace_state.empty()) {
    put(out, ",\"traceState\":");
    append_json_utf8(out, span.context.trace_state.format());
  }
  if (span.parent_span_id.valid()) {
    put(out, ",\"parentSpanId\":");
    append_hex(out, span.parent_span_id.bytes);
  }
  // The W3C trace flags are the low byte of the span's flags.
  put(out, ",\"flags\":");
  put_uint(out, span.context.flags);
  put(out, ",\"name\":");
  append_json_utf8(out, span.name);
  put(out, ",\"kind\":");
  put_uint(out, static_cast<unsigned>(span.kind));
  put(out, ",\"startTimeUnixNano\":");
  append_int_string(out, span.start_unix_ns);
  put(out, ",\"endTimeUnixNano\":");
  append_int_string(out, span.end_unix_ns);
  out.push_back(',');
  append_attributes(out, span.attributes.decode());
  if (!span.events.empty()) {
    put(out, ",\"events\":[");
    bool first = true;
    for (const auto& event : span.events) {
      if (!first) out.push_back(',');
      first = false;
      put(out, "{\"timeUnixNano\":");
      append_int_string(out, event.time_unix_ns);
      put(out, ",\"name\":");
      append_json_utf8(out, event.name);
      out.push_back(',');
      append_attributes(out, event.attributes);
      out.push_back('}');
    }
    out.push_back(']');
  }
  if (!span.links.empty()) {
    put(out, ",\"links\":[");
    bool first = true;
    for (const auto& link : span.links) {
      if (!first) out.push_back(',');
      first = false;
      put(out, "{\"traceId\":");
      append_hex(out, link.context.trace_id.bytes);
      put(out, ",\"spanId\":");
      append_hex(out, link.context.span_id.bytes);
      if (!link.context.trace_state.empty()) {
        put(out, ",\"traceState\":");
        append_json_utf8(out, link.context.trace_state.format());
      }
      put(out, ",\"flags\":");
      put_uint(out, link.context.flags);
      out.push_back(',');
      append_attributes(out, link.attributes);
      out.push_back('}');
    }
    out.push_back(']');
  }
  put(out, ",\"status\":{");
  if (span.status != trace::StatusCode::kUnset) {
    put(out, "\"code\":");
    put_uint(out, static_cast<unsigned>(span.status));
    if (!span.status_message.empty()) {
      put(out, ",\"message\":");
      append_json_utf8(out, span.status_message);
    }
  }
  put(out, "}}");
}

}  // namespace

Resource Resource::make(std::string_view service_name, std::string_view resource_attributes) {
  Resource resource;
  resource.attributes.push_back({"service.name", std::string(service_name)});
  resource.attributes.push_back({"telemetry.sdk.name", std::string(kScopeName)});
  resource.attributes.push_back({"telemetry.sdk.language", std::string("cpp")});
  resource.attributes.push_back({"telemetry.sdk.version", std::string(SEATFLOW_VERSION)});
  while (!resource_attributes.empty()) {
    const size_t comma = resource_attributes.find(',');
    std::string_view member = resource_attributes.substr(0, comma);
    resource_attributes = comma == std::string_view::npos ? std::string_view{}
                                                          : resource_attributes.substr(comma + 1);
    const size_t eq = member.find('=');
    if (eq == std::string_view::npos) continue;
    const auto trim = [](std::string_view v) {
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return v;
    };
    const std::string_view key = trim(member.substr(0, eq));
    auto value = http::percent_decode(trim(member.substr(eq + 1)));
    if (key.empty() || key == "service.name" || !value) continue;
    resource.attributes.push_back({std::string(key), std::move(*value)});
  }
  return resource;
}

void append_json_utf8(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // The longest run that needs no escaping and no repair goes in at once.
    size_t run = i;
    for (uint64_t w = 0; run + 8 <= s.size(); run += 8) {
      std::memcpy(&w, s.data() + run, 8);
      if (!plain_word(w)) break;
    }
    while (run < s.size() && kPlain[static_cast<unsigned char>(s[run])]) ++run;
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': put(out, "\\\""); break;
        case '\\': put(out, "\\\\"); break;
        case '\n': put(out, "\\n"); break;
        case '\r': put(out, "\\r"); break;
        case '\t': put(out, "\\t"); break;
        default:
          put(out, "\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
      }
      ++i;
      continue;
    }
    i += append_utf8_sequence(out, s, i);
  }
  out.push_back('"');
}

uint64_t rejected_spans(std::string_view body, Protocol protocol) {
  if (body.empty()) return 0;
  if (protocol == Protocol::kHttpProtobuf) return rejected_spans_protobuf(body);
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(body, ec);
  if (ec || !json.is_object()) return 0;
  const auto* partial = json.as_object().if_contains("partialSuccess");
  if (partial == nullptr || !partial->is_object()) return 0;
  const auto* rejected = partial->as_object().if_contains("rejectedSpans");
  if (rejected == nullptr) return 0;
  if (rejected->is_string()) {  // int64 is a decimal string in the JSON mapping
    const auto text = rejected->as_string();
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} && end == text.data() + text.size() ? value : 0;
  }
  if (rejected->is_int64() && rejected->as_int64() > 0) {
    return static_cast<uint64_t>(rejected->as_int64());
  }
  return 0;
}

std::string_view content_type(Protocol protocol) {
  return protocol == Protocol::kHttpProtobuf ? "application/x-protobuf" : "application/json";
}

void encode_span(const trace::SpanData& span, std::string& out, Protocol protocol) {
  if (protocol == Protocol::kHttpProtobuf) return encode_span_protobuf(span, out);
  append_span(out, span);
}

void encode_span(const trace::SpanData& span, ByteBuffer& out, Protocol protocol) {
  if (protocol == Protocol::kHttpProtobuf) return encode_span_protobuf(span, out);
  thread_local std::string json;
  json.clear();
  append_span(json, span);
  append(out, json);
}

std::string encode_export_request(std::span<const ResourceBatch> batches, Protocol protocol) {
  std::string out;
  encode_export_request(batches, out, protocol);
  return out;
}

void encode_export_request(std::span<const ResourceBatch> batches, std::string& out,
                           Protocol protocol) {
  if (protocol == Protocol::kHttpProtobuf) return encode_export_request_protobuf(batches, out);
  out.clear();
  size_t size = 256;
  for (const auto& batch : batches) {
    for (std::string_view span : batch.spans) size += span.size() + 1;
  }
  out.reserve(size);
  put(out, "{\"resourceSpans\":[");
  bool first_batch = true;
  for (const auto& batch : batches) {
    if (!first_batch) out.push_back(',');
    first_batch = false;
    put(out, "{\"resource\":{");
    append_attributes(out, batch.resource->attributes);
    put(out, "},\"scopeSpans\":[{\"scope\":{\"name\":");
    append_json_utf8(out, kScopeName);
    put(out, ",\"version\":");
    append_json_utf8(out, SEATFLOW_VERSION);
    put(out, "},\"spans\":[");
    bool first_span = true;
    for (std::string_view span : batch.spans) {
      if (!first_span) out.push_back(',');
      first_span = false;
      out.append(span);
    }
    put(out, "]}]}");
  }
  put(out, "]}");
}

}  // namespace seatflow::otlp
