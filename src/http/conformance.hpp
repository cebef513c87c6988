// POST /debug/trace-conformance: the service side of the W3C Trace Context
// test harness (github.com/w3c/trace-context, folder test/).
//
// The harness calls the route with a trace context in its headers and a
// JSON array of actions, [{"url": "...", "arguments": <json>}, ...]. For
// each action, in order, the route POSTs `arguments` as JSON (`[]` when
// absent or null) to `url`, each call with its own CLIENT span: a child of
// the route's SERVER span, so the harness sees how the context it sent was
// continued. The answer lists each call's status.
//
// It makes the server call any URL it is given, so it is only mounted when
// the configuration asks for it (trace.conformance_route = true).
//
// Thread safety: as Router; `client` must have a tracer and outlive the router.
#pragma once

#include "http/client.hpp"
#include "http/router.hpp"

namespace seatflow::http {

inline constexpr std::string_view kTraceConformancePath = "/debug/trace-conformance";

void add_trace_conformance_route(Router& router, HttpClient& client);

}  // namespace seatflow::http
