// The OTLP protobuf encoding, written directly: field numbers and wire types
// from opentelemetry/proto (trace/v1/trace.proto, common/v1/common.proto,
// resource/v1/resource.proto, collector/trace/v1/trace_service.proto).
// A nested message is written as tag, length, bytes; the lengths of the
// small ones (KeyValue, AnyValue, Status) are computed before they are
// written, the rest are encoded into a scratch buffer first.
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "core/text.hpp"
#include "otlp/encoding.hpp"
#include "trace/wire.hpp"

namespace seatflow::otlp {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

constexpr uint32_t tag(uint32_t field, WireType type) { return field << 3 | type; }

using trace::wire::varint_size;

size_t field_size(uint32_t field, size_t length) {
  return varint_size(tag(field, kLength)) + varint_size(length) + length;
}

// A string field's text: valid UTF-8 as is, anything else repaired (proto3
// receivers refuse a string field that is not UTF-8).
class Utf8 {
 public:
  explicit Utf8(std::string_view s) : text_(s) {
    if (!is_ascii(s) && !valid_utf8(s)) {
      repaired_ = repair_utf8(s);
      text_ = repaired_;
    }
  }
  Utf8(const Utf8&) = delete;
  Utf8& operator=(const Utf8&) = delete;
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
  std::string repaired_;
};

// Appends to a string (or a ByteBuffer) through a raw pointer: the caller
// reserves an upper bound of what it writes with Writer(out, bound), and
// the destructor cuts the string to what was written.
template <typename Out = std::string>
class Writer {
 public:
  Writer(Out& out, size_t bound) : out_(out), start_(out.size()) {
    out_.resize(start_ + bound);
    p_ = out_.data() + start_;
  }
  ~Writer() { out_.resize(static_cast<size_t>(p_ - out_.data())); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void varint(uint64_t v) { p_ = trace::wire::put_varint(p_, v); }
  void tag(uint32_t field, WireType type) { varint(field << 3 | type); }
  void fixed64(uint32_t field, uint64_t v) {
    tag(field, kFixed64);
    for (int i = 0; i < 8; ++i) {  // little-endian
      *p_++ = static_cast<char>(v & 0xff);
      v >>= 8;
    }
  }
  void fixed32(uint32_t field, uint32_t v) {
    tag(field, kFixed32);
    for (int i = 0; i < 4; ++i) {
      *p_++ = static_cast<char>(v & 0xff);
      v >>= 8;
    }
  }
  void bytes(uint32_t field, std::string_view b) {
    tag(field, kLength);
    varint(b.size());
    raw(b);
  }
  void raw(std::string_view b) {
    if (!b.empty()) std::memcpy(p_, b.data(), b.size());
    p_ += b.size();
  }

  // KeyValue { string key = 1; AnyValue value = 2; }, as field `field`.
  // AnyValue { string_value = 1; bool_value = 2; int_value = 3; double_value = 4; }
  void attribute(uint32_t field, const trace::Attribute& attribute) {
    const Utf8 key(attribute.key);
    const auto* text = std::get_if<std::string>(&attribute.value);
    const Utf8 value(text != nullptr ? std::string_view(*text) : std::string_view());
    size_t any_size = 0;
    if (text != nullptr) {
      any_size = field_size(1, value.text().size());
    } else if (const auto* i = std::get_if<int64_t>(&attribute.value)) {
      any_size = 1 + varint_size(static_cast<uint64_t>(*i));
    } else if (std::holds_alternative<bool>(attribute.value)) {
      any_size = 2;
    } else {
      any_size = 9;
    }
    tag(field, kLength);
    varint(field_size(1, key.text().size()) + field_size(2, any_size));
    bytes(1, key.text());
    tag(2, kLength);
    varint(any_size);
    if (text != nullptr) {
      bytes(1, value.text());
    } else if (const auto* i = std::get_if<int64_t>(&attribute.value)) {
      tag(3, kVarint);
      varint(static_cast<uint64_t>(*i));
    } else if (const auto* b = std::get_if<bool>(&attribute.value)) {
      tag(2, kVarint);
      *p_++ = *b ? '\1' : '\0';
    } else {
      uint64_t bits = 0;
      std::memcpy(&bits, &std::get<double>(attribute.value), sizeof bits);
      fixed64(4, bits);
    }
  }
  void attributes(uint32_t field, const std::vector<trace::Attribute>& list) {
    for (const auto& a : list) attribute(field, a);
  }

 private:
  Out& out_;
  size_t start_;
  char* p_;
};

// An upper bound of a string's encoded size: repair may triple each byte.
size_t string_bound(std::string_view s) { return 3 * s.size() + 12; }

size_t attributes_bound(const std::vector<trace::Attribute>& list) {
  size_t n = 0;
  for (const auto& a : list) {
    n += string_bound(a.key) + 32;
    if (const auto* text = std::get_if<std::string>(&a.value)) n += string_bound(*text);
  }
  return n;
}

template <size_t N>
std::string_view as_bytes(const std::array<uint8_t, N>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), N};
}

// Span { trace_id = 1; span_id = 2; trace_state = 3; parent_span_id = 4;
//        name = 5; kind = 6; start_time_unix_nano = 7; end_time_unix_nano = 8;
//        attributes = 9; events = 11; links = 13; status = 15; flags = 16; }
// Event { time_unix_nano = 1; name = 2; attributes = 3; }
// Link { trace_id = 1; span_id = 2; trace_state = 3; attributes = 4; flags = 6; }
// Status { message = 2; code = 3; }
// A span's fields before its attributes: ids, trace state, parent, name,
// kind and times. Inlined, as the tail below: called, the writer's
// position lives in memory instead of a register, which cost the server
// span 35 ns (bench/span_benchmark).
template <typename Out>
[[gnu::always_inline]] inline void write_span_head(Writer<Out>& w,
                                                   const trace::SpanContext& context,
                                                   std::string_view state,
                                                   const trace::SpanId& parent,
                                                   std::string_view name, trace::SpanKind kind,
                                                   int64_t start_unix_ns, int64_t end_unix_ns) {
  w.bytes(1, as_bytes(context.trace_id.bytes));
  w.bytes(2, as_bytes(context.span_id.bytes));
  if (!state.empty()) w.bytes(3, Utf8(state).text());
  if (parent.valid()) w.bytes(4, as_bytes(parent.bytes));
  w.bytes(5, Utf8(name).text());
  w.tag(6, kVarint);
  w.varint(static_cast<uint64_t>(kind));
  w.fixed64(7, static_cast<uint64_t>(start_unix_ns));
  w.fixed64(8, static_cast<uint64_t>(end_unix_ns));
}

// A span's fields after its attributes, events and links: status and flags.
template <typename Out>
[[gnu::always_inline]] inline void write_span_tail(Writer<Out>& w, trace::StatusCode status,
                                                   std::string_view status_message, uint8_t flags) {
  if (status != trace::StatusCode::kUnset) {
    const Utf8 message(status_message);
    const size_t size =
        (message.text().empty() ? 0 : field_size(2, message.text().size())) + 2;  // code < 128
    w.tag(15, kLength);
    w.varint(size);
    if (!message.text().empty()) w.bytes(2, message.text());
    w.tag(3, kVarint);
    w.varint(static_cast<uint64_t>(status));
  }
  // The W3C trace flags are the low byte of the span's flags.
  w.fixed32(16, flags);
}

template <typename Out>
void encode_span_into(const trace::SpanData& span, Out& out) {
  // Events and links are written first, each on its own, since their length
  // comes before them.
  std::string nested;
  for (const auto& event : span.events) {
    std::string e;
    {
      Writer w(e, 32 + string_bound(event.name) + attributes_bound(event.attributes));
      w.fixed64(1, static_cast<uint64_t>(event.time_unix_ns));
      w.bytes(2, Utf8(event.name).text());
      w.attributes(3, event.attributes);
    }
    Writer w(nested, e.size() + 12);
    w.bytes(11, e);
  }
  for (const auto& link : span.links) {
    std::string l;
    {
      const std::string state = link.context.trace_state.format();
      Writer w(l, 64 + string_bound(state) + attributes_bound(link.attributes));
      w.bytes(1, as_bytes(link.context.trace_id.bytes));
      w.bytes(2, as_bytes(link.context.span_id.bytes));
      if (!state.empty()) w.bytes(3, Utf8(state).text());
      w.attributes(4, link.attributes);
      w.fixed32(6, link.context.flags);
    }
    Writer w(nested, l.size() + 12);
    w.bytes(13, l);
  }

  const std::string state =
      span.context.trace_state.empty() ? std::string() : span.context.trace_state.format();
  Writer<Out> w(out, 128 + string_bound(state) + string_bound(span.name) +
                         string_bound(span.status_message) + span.attributes.wire().size() +
                         nested.size());
  write_span_head(w, span.context, state, span.parent_span_id, span.name, span.kind,
                  span.start_unix_ns, span.end_unix_ns);
  w.raw(span.attributes.wire());  // encoded as they were set
  w.raw(nested);
  write_span_tail(w, span.status, span.status_message, span.context.flags);
}

}  // namespace

void encode_span_protobuf(const trace::SpanData& span, std::string& out) {
  encode_span_into(span, out);
}

void encode_span_protobuf(const trace::SpanData& span, ByteBuffer& out) {
  encode_span_into(span, out);
}

namespace {

// A framed span is written after room for its tag and a two-byte length
// (128 bytes to 16 KiB, as most spans are), and moved if its length takes
// another.
constexpr size_t kAssumedHeader = 3;

// Frames the span written at out[start + kAssumedHeader...]; returns the
// size of its tag and length.
size_t frame(ByteBuffer& out, size_t start) {
  const size_t size = out.size() - start - kAssumedHeader;
  const size_t header = 1 + varint_size(size);
  if (header > kAssumedHeader) out.resize(out.size() + header - kAssumedHeader);
  if (header != kAssumedHeader) {
    char* base = out.data() + start;
    std::memmove(base + header, base + kAssumedHeader, size);
  }
  if (header < kAssumedHeader) out.resize(start + header + size);
  char* p = out.data() + start;
  *p++ = static_cast<char>(tag(2, kLength));
  trace::wire::put_varint(p, size);
  return header;
}

}  // namespace

size_t encode_framed_span_protobuf(const trace::SpanData& span, ByteBuffer& out) {
  const size_t start = out.size();
  out.resize(start + kAssumedHeader);
  encode_span_into(span, out);
  return frame(out, start);
}

// The same fields as encode_span_into(), in the same order; the attributes
// are written by the span's own function, and there are no events, links or
// status message.
size_t encode_framed_span_protobuf(const trace::FinishedSpan& span, ByteBuffer& out) {
  const size_t start = out.size();
  out.resize(start + kAssumedHeader);
  const trace::SpanContext& context = *span.context;
  const std::string state =
      context.trace_state.empty() ? std::string() : context.trace_state.format();
  {
    Writer<ByteBuffer> w(out, 96 + string_bound(state) + string_bound(span.name));
    write_span_head(w, context, state, span.parent_span_id, span.name, span.kind,
                    span.start_unix_ns, span.end_unix_ns);
  }
  if (span.attributes != nullptr) {
    trace::AttributeWriter attributes(out);
    span.attributes(attributes, span.arg);
  }
  {
    Writer<ByteBuffer> w(out, 16);
    write_span_tail(w, span.status, {}, context.flags);
  }
  return frame(out, start);
}

namespace {

std::string encode_scope() {
  std::string scope;
  Writer w(scope, 64 + kScopeName.size() + std::string_view(SEATFLOW_VERSION).size());
  w.bytes(1, kScopeName);
  w.bytes(2, SEATFLOW_VERSION);
  return scope;
}

// Appends to `out` a ResourceSpans' tag and length, its resource, and its
// ScopeSpans' tag, length and scope: all of it but the spans, which are
// `spans_size` bytes of framed spans (each a ScopeSpans.spans field).
void write_batch_head(const Resource& resource, std::string_view scope, size_t spans_size,
                      std::string& out) {
  std::string attributes;
  {
    Writer w(attributes, attributes_bound(resource.attributes));
    w.attributes(1, resource.attributes);
  }
  const size_t scope_spans = field_size(1, scope.size()) + spans_size;
  const size_t resource_spans = field_size(1, attributes.size()) + field_size(2, scope_spans);
  Writer w(out, field_size(1, resource_spans) - spans_size);
  w.tag(1, kLength);
  w.varint(resource_spans);
  w.bytes(1, attributes);
  w.tag(2, kLength);
  w.varint(scope_spans);
  w.bytes(1, scope);
}

}  // namespace

void encode_export_request_protobuf(std::span<const ResourceBatch> batches, std::string& out) {
  out.clear();
  const std::string scope = encode_scope();
  size_t total = 0;
  for (const auto& batch : batches) {
    total += 1024;
    for (std::string_view span : batch.spans) total += field_size(2, span.size());
  }
  out.reserve(total);
  for (const auto& batch : batches) {
    size_t spans = 0;
    for (std::string_view span : batch.spans) spans += field_size(2, span.size());
    write_batch_head(*batch.resource, scope, spans, out);
    // Each span's tag and length through a Writer, the span appended after
    // it: a Writer's bound is zeroed first, which for the spans themselves
    // would be hundreds of kilobytes per export.
    for (std::string_view span : batch.spans) {
      {
        Writer w(out, 11);  // the tag, and a length of up to ten bytes
        w.tag(2, kLength);
        w.varint(span.size());
      }
      out.append(span);
    }
  }
}

void encode_export_request_head_protobuf(const Resource& resource, size_t spans_size,
                                         std::string& out) {
  out.clear();
  write_batch_head(resource, encode_scope(), spans_size, out);
}

// ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
// ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
uint64_t rejected_spans_protobuf(std::string_view body) {
  // Reads one message's fields, calling `on_field(number, type, varint, bytes)`;
  // false when the bytes are not a well-formed message.
  const auto read = [](std::string_view bytes, auto&& on_field) {
    size_t i = 0;
    const auto varint = [&](uint64_t& v) {
      v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (i >= bytes.size()) return false;
        const auto b = static_cast<unsigned char>(bytes[i++]);
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (b < 0x80) return true;
      }
      return false;
    };
    while (i < bytes.size()) {
      uint64_t key = 0;
      uint64_t value = 0;
      if (!varint(key)) return false;
      std::string_view nested;
      switch (key & 7) {
        case kVarint:
          if (!varint(value)) return false;
          break;
        case kFixed64:
          if (bytes.size() - i < 8) return false;
          i += 8;
          break;
        case kFixed32:
          if (bytes.size() - i < 4) return false;
          i += 4;
          break;
        case kLength:
          if (!varint(value) || value > bytes.size() - i) return false;
          nested = bytes.substr(i, value);
          i += value;
          break;
        default: return false;
      }
      on_field(key >> 3, key & 7, value, nested);
    }
    return true;
  };
  uint64_t rejected = 0;
  read(body, [&](uint64_t field, uint64_t type, uint64_t, std::string_view partial) {
    if (field != 1 || type != kLength) return;
    read(partial, [&](uint64_t f, uint64_t t, uint64_t v, std::string_view) {
      if (f == 1 && t == kVarint && static_cast<int64_t>(v) > 0) rejected = v;
    });
  });
  return rejected;
}

}  // namespace seatflow::otlp
