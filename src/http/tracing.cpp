#include "http/tracing.hpp"

#include <array>
#include <chrono>
#include <string>

namespace seatflow::http {
namespace {

class TracingMiddleware final : public Middleware {
 public:
  explicit TracingMiddleware(const trace::Tracer& tracer) : tracer_(tracer) {
    for (size_t m = 0; m < by_method_.size(); ++m) {
      auto& attributes = by_method_[m];
      attributes.set_text("http.request.method", method_name(static_cast<Method>(m)));
      attributes.set_text("url.scheme", "http");
      attributes.set_text("network.protocol.version", "1.1");
    }
  }

  void handle(Request& request, Responder responder, const Handler& next) override {
    auto parent = trace::extract(request.headers.get_all("traceparent"),
                                 request.headers.get_all("tracestate"));
    const std::string_view method = method_name(request.method);
    // One allocation holds what the send hook needs, so that the hook fits
    // in std::function's own storage.
    auto state = std::make_shared<State>(
        State{tracer_.start_span(method, {.kind = trace::SpanKind::kServer,
                                          .parent = parent,
                                          .root = !parent,
                                          .start_unix_ns = start_time(request)}),
              &request});
    trace::Span* span = &state->span;
    if (span->recording()) {
      span->set_attributes(by_method_[static_cast<size_t>(request.method)]);
      span->set_attribute("url.path", request.path);
      if (!request.query.empty()) span->set_attribute("url.query", redact_query(request.query));
      if (!request.remote_address.empty()) {
        span->set_attribute("client.address", request.remote_address);
      }
      if (auto agent = request.header("User-Agent")) {
        span->set_attribute("user_agent.original", *agent);
      }
    }
    responder.on_send([state](Response& response) { finish(*state, response); });
    trace::Scope scope(span->context());
    next(request, std::move(responder));
  }

 private:
  struct State {
    trace::Span span;
    const Request* request;  // lives until the response is sent
  };

  // Names the span by its route, records the status and ends it.
  static void finish(State& state, const Response& response) {
    trace::Span& span = state.span;
    const Request& request = *state.request;
    if (!span.recording()) return;
    if (request.route != "unmatched") {
      // "{method} {route}", put together by hand in a string this thread
      // reuses: a format string is parsed again on every call, and this
      // runs on every request.
      thread_local std::string name;
      name.assign(method_name(request.method)).append(1, ' ').append(request.route);
      span.update_name(name);
      span.set_attribute("http.route", request.route);
    }
    span.set_attribute("http.response.status_code", response.status);
    if (response.status >= 500) {
      span.set_attribute("error.type", std::to_string(response.status));
      span.set_status(trace::StatusCode::kError);
    }
    span.end(trace::unix_ns(response.answered_at));
  }

  // When the request arrived, by the server's reading of the clock that
  // the metrics share (0 for the tracer: now).
  static int64_t start_time(const Request& request) {
    if (request.received_at == std::chrono::steady_clock::time_point{}) return 0;
    return trace::unix_ns(request.received_at);
  }

  const trace::Tracer& tracer_;
  // What every request of a method has in common, encoded once: its
  // method, the scheme and the protocol version.
  std::array<trace::AttributeList, static_cast<size_t>(Method::kOther) + 1> by_method_;
};

}  // namespace

std::shared_ptr<Middleware> tracing_middleware(const trace::Tracer& tracer) {
  return std::make_shared<TracingMiddleware>(tracer);
}

}  // namespace seatflow::http
