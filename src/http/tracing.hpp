// Traces over HTTP, by the OpenTelemetry semantic conventions for HTTP.
//
// Server: tracing_middleware() continues the trace of an incoming request
// (or starts one) with a SERVER span named "{method} {route}". The span is
// current while the handler runs on the connection's thread; a handler that
// answers later from elsewhere carries it with trace::bind_context(). The
// span ends when the response is sent, with its status code (5xx is an
// error).
//
// Client: HttpClient::set_tracer() gives every outgoing call its own CLIENT
// span, a child of the caller's current context, whose context travels in
// the request's traceparent/tracestate headers.
//
// Thread safety: the middleware is shared by all worker threads; the tracer
// must outlive the server.
#pragma once

#include <memory>

#include "http/router.hpp"
#include "trace/span.hpp"

namespace seatflow::http {

std::shared_ptr<Middleware> tracing_middleware(const trace::Tracer& tracer);

}  // namespace seatflow::http
