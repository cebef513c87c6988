// The two OTLP/HTTP encodings of spans, an ExportTraceServiceRequest either
// way:
// - binary protobuf (http/protobuf, the default of the OTLP specification),
//   written by hand from opentelemetry/proto/trace/v1/trace.proto: a few
//   hundred bytes per span and no text conversions;
// - JSON (http/json), as the specification's JSON mapping writes it (field
//   names in lowerCamelCase, trace and span ids as lowercase hex, enums as
//   integers, 64-bit integers as decimal strings, non-finite doubles as
//   "NaN"/"Infinity"/"-Infinity").
// Strings that are not valid UTF-8 are repaired with U+FFFD in both, since a
// receiver rejects the whole request for one bad byte.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_buffer.hpp"
#include "trace/span.hpp"

namespace seatflow::otlp {

enum class Protocol { kHttpProtobuf, kHttpJson };

// "application/x-protobuf" or "application/json".
std::string_view content_type(Protocol protocol);

// The entity that produced the spans: service.name and friends.
struct Resource {
  std::vector<trace::Attribute> attributes;

  // service.name = `service_name`, the telemetry.sdk.* attributes, and
  // those of OTEL_RESOURCE_ATTRIBUTES ("k1=v1,k2=v2", percent-encoded
  // values) except service.name. Malformed members are skipped.
  static Resource make(std::string_view service_name, std::string_view resource_attributes = {});
};

// One span as an OTLP Span, appended to `out`: a JSON object, or the
// protobuf message's fields (without its own tag and length, which the
// request adds). The exporter encodes a span on the thread that ended it,
// while its data is still hot, and queues the bytes.
void encode_span(const trace::SpanData& span, std::string& out,
                 Protocol protocol = Protocol::kHttpJson);
// The same into a ByteBuffer, which grows without zeroing first the room
// the protobuf encoder reserves: the exporter's queue.
void encode_span(const trace::SpanData& span, ByteBuffer& out,
                 Protocol protocol = Protocol::kHttpJson);

// The spans of one resource within a request, each encoded by encode_span().
struct ResourceBatch {
  const Resource* resource = nullptr;
  std::vector<std::string_view> spans;
};

inline constexpr std::string_view kScopeName = "seatflow";

// Writes into `out` (replacing what it held, keeping its capacity) the body
// of POST /v1/traces for these batches.
void encode_export_request(std::span<const ResourceBatch> batches, std::string& out,
                           Protocol protocol = Protocol::kHttpJson);
std::string encode_export_request(std::span<const ResourceBatch> batches,
                                  Protocol protocol = Protocol::kHttpJson);

// partialSuccess.rejectedSpans of an export response (an
// ExportTraceServiceResponse in either encoding); 0 when absent or when the
// body cannot be read.
uint64_t rejected_spans(std::string_view body, Protocol protocol);

// Appends `s` as a JSON string, quoted and escaped, with every invalid UTF-8
// sequence replaced by U+FFFD.
void append_json_utf8(std::string& out, std::string_view s);

// The protobuf encoding's entry points, which encode_span() and
// encode_export_request() call for Protocol::kHttpProtobuf.
void encode_span_protobuf(const trace::SpanData& span, std::string& out);
void encode_span_protobuf(const trace::SpanData& span, ByteBuffer& out);
void encode_export_request_protobuf(std::span<const ResourceBatch> batches, std::string& out);

// A request of one resource without copying its spans: the exporter queues
// each span framed, as a ScopeSpans.spans field (tag, length, message);
// the request is then the head encode_export_request_head_protobuf()
// writes into `out` (replacing what it held) followed by `spans_size`
// bytes of framed spans. encode_framed_span_protobuf() appends one and
// returns the size of its tag and length.
size_t encode_framed_span_protobuf(const trace::SpanData& span, ByteBuffer& out);
size_t encode_framed_span_protobuf(const trace::FinishedSpan& span, ByteBuffer& out);
void encode_export_request_head_protobuf(const Resource& resource, size_t spans_size,
                                         std::string& out);
uint64_t rejected_spans_protobuf(std::string_view body);

}  // namespace seatflow::otlp
