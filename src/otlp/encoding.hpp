// The OTLP/JSON encoding of spans: an ExportTraceServiceRequest as the
// OTLP specification's JSON mapping writes it (field names in lowerCamelCase,
// trace and span ids as lowercase hex, enums as integers, 64-bit integers
// as decimal strings, non-finite doubles as "NaN"/"Infinity"/"-Infinity").
// Strings that are not valid UTF-8 are repaired with U+FFFD, since a
// receiver rejects the whole request for one bad byte.
//
// Thread safety: pure functions over values.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trace/span.hpp"

namespace seatflow::otlp {

// The entity that produced the spans: service.name and friends.
struct Resource {
  std::vector<trace::Attribute> attributes;

  // service.name = `service_name`, the telemetry.sdk.* attributes, and
  // those of OTEL_RESOURCE_ATTRIBUTES ("k1=v1,k2=v2", percent-encoded
  // values) except service.name. Malformed members are skipped.
  static Resource make(std::string_view service_name, std::string_view resource_attributes = {});
};

// One span as an OTLP JSON Span object, appended to `out`. The exporter
// encodes a span on the thread that ended it, while its data is still hot,
// and queues the text.
void encode_span(const trace::SpanData& span, std::string& out);

// The spans of one resource within a request, each encoded by encode_span().
struct ResourceBatch {
  const Resource* resource = nullptr;
  std::vector<std::string_view> spans;
};

inline constexpr std::string_view kScopeName = "seatflow";

// Writes into `out` (replacing what it held, keeping its capacity) the JSON
// body of POST /v1/traces for these batches.
void encode_export_request(std::span<const ResourceBatch> batches, std::string& out);
std::string encode_export_request(std::span<const ResourceBatch> batches);

// Appends `s` as a JSON string, quoted and escaped, with every invalid UTF-8
// sequence replaced by U+FFFD.
void append_json_utf8(std::string& out, std::string_view s);

}  // namespace seatflow::otlp
