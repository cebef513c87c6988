// Carrying a span context across hops that are not function calls:
// message headers and a text form for database columns. (HTTP uses the same
// header names; see http/tracing.hpp.)
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trace/trace_context.hpp"

namespace seatflow::trace {

inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Sets traceparent (and tracestate when non-empty) in `headers`, replacing
// any that are there: a message never carries two traceparents.
void inject(const SpanContext& context, HeaderList& headers);

// The context in `headers` (names compared case-insensitively), by the same
// rules as an HTTP request.
std::optional<SpanContext> extract(const HeaderList& headers);

// "traceparent" or "traceparent;tracestate": the form stored in a
// `traceparent` column of saga and outbox rows.
std::string to_text(const SpanContext& context);
std::optional<SpanContext> from_text(std::string_view text);

}  // namespace seatflow::trace
