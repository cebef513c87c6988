// W3C Trace Context (https://www.w3.org/TR/trace-context-2/): the
// `traceparent` and `tracestate` headers, parsed and formatted by every rule
// of Level 1, with Level 2's "random" trace flag.
//
// A received context is extracted from all the traceparent and tracestate
// header values a request carried:
// - exactly one valid traceparent continues the trace; none, an invalid one
//   or several start a new trace;
// - tracestate is read only when traceparent was valid; several tracestate
//   headers are combined in order; an invalid tracestate (bad key or value,
//   a duplicated key, more than 32 members) is discarded whole.
//
// Thread safety: values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seatflow::trace {

struct TraceId {
  std::array<uint8_t, 16> bytes{};
  bool valid() const;  // not all zero
  std::string hex() const;
  static std::optional<TraceId> from_hex(std::string_view hex);  // 32 lowercase hex digits
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

struct SpanId {
  std::array<uint8_t, 8> bytes{};
  bool valid() const;
  std::string hex() const;
  static std::optional<SpanId> from_hex(std::string_view hex);  // 16 lowercase hex digits
  friend bool operator==(const SpanId&, const SpanId&) = default;
};

// trace-flags bits.
inline constexpr uint8_t kFlagSampled = 0x01;
inline constexpr uint8_t kFlagRandom = 0x02;  // Level 2: the trace id's right 7 bytes are random

class TraceState {
 public:
  static constexpr size_t kMaxMembers = 32;
  // What format() keeps at most, per the spec's propagation limit.
  static constexpr size_t kMaxPropagatedLength = 512;

  // Combines the values of every tracestate header, in order. nullopt if the
  // result is invalid (and so must be discarded).
  static std::optional<TraceState> parse(const std::vector<std::string_view>& headers);

  static bool valid_key(std::string_view key);
  static bool valid_value(std::string_view value);

  // "k1=v1,k2=v2", at most kMaxPropagatedLength characters: members longer
  // than 128 characters go first, then members from the right.
  std::string format() const;

  std::optional<std::string_view> get(std::string_view key) const;
  // Puts key=value first, replacing an existing member (a vendor's update).
  // REQUIRES: valid_key(key) && valid_value(value).
  void set(std::string_view key, std::string_view value);
  bool empty() const { return members_.empty(); }
  size_t size() const { return members_.size(); }
  const std::vector<std::pair<std::string, std::string>>& members() const { return members_; }

  friend bool operator==(const TraceState&, const TraceState&) = default;

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

struct SpanContext {
  TraceId trace_id;
  SpanId span_id;
  uint8_t flags = 0;
  TraceState trace_state;
  bool remote = false;  // extracted from a carrier rather than created here

  bool valid() const { return trace_id.valid() && span_id.valid(); }
  bool sampled() const { return (flags & kFlagSampled) != 0; }
};

// One traceparent value; surrounding spaces and tabs are ignored. A future
// version (01..fe) is parsed by its version-00 fields when what follows them
// is empty or starts with '-'; version ff is invalid.
std::optional<SpanContext> parse_traceparent(std::string_view value);

// "00-<trace id>-<span id>-<flags>". Only the sampled and random flags are
// propagated; unknown bits are cleared.
std::string format_traceparent(const SpanContext& context);

// The context a request carried (see the top of this file), marked remote.
std::optional<SpanContext> extract(const std::vector<std::string_view>& traceparents,
                                   const std::vector<std::string_view>& tracestates);
// The same, for a carrier that held exactly one traceparent.
std::optional<SpanContext> extract_one(std::string_view traceparent,
                                       const std::vector<std::string_view>& tracestates);

}  // namespace seatflow::trace
