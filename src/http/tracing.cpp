#include "http/tracing.hpp"

#include <algorithm>
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
    // The span is recorded in one piece when the response goes (see
    // trace::FinishedSpan): everything it holds is known then, and its
    // attributes go straight into the exporter's queue.
    // One allocation holds what the send hook needs, so that the hook fits
    // in std::function's own storage.
    auto state = std::make_shared<State>(*this, request);
    state->context =
        tracer_.start_context({.kind = trace::SpanKind::kServer, .parent = parent, .root = !parent},
                              &state->parent_span_id);
    state->recording = state->context.sampled() && tracer_.records();
    if (state->recording) state->start_unix_ns = trace::unix_ns(received_at(request));
    responder.on_send([state](Response& response) { state->finish(&response); });
    trace::Scope scope(state->context);
    next(request, std::move(responder));
  }

 private:
  struct State {
    State(const TracingMiddleware& m, const Request& r)
        : middleware(m), request(&r), method(r.method) {}
    // A request whose response was never sent (the server stopped first)
    // still has its span: its method's attributes, without a status. The
    // request may be gone by then, and is not read.
    ~State() { finish(nullptr); }
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    // Records the span (once), with the response's status when it has one.
    void finish(const Response* answer);

    const TracingMiddleware& middleware;
    const Request* request;  // lives until the response is sent
    const Method method;
    const Response* response = nullptr;  // null: never sent
    trace::SpanContext context;
    trace::SpanId parent_span_id;
    int64_t start_unix_ns = 0;  // when the server had read the request
    bool recording = false;
  };

  // The span's attributes, by the semantic conventions for HTTP servers;
  // `arg` is the State.
  static void write_attributes(trace::AttributeWriter& out, const void* arg) {
    const auto& state = *static_cast<const State*>(arg);
    out.set_all(state.middleware.by_method_[static_cast<size_t>(state.method)]);
    if (state.response == nullptr) return;
    const Request& request = *state.request;
    out.set_text("url.path", request.path);
    if (!request.query.empty()) out.set_text("url.query", redact_query(request.query));
    if (!request.remote_address.empty()) out.set_text("client.address", request.remote_address);
    if (auto agent = request.header("User-Agent")) out.set_text("user_agent.original", *agent);
    if (request.route != "unmatched") out.set_text("http.route", request.route);
    const int status = state.response->status;
    out.set_int("http.response.status_code", status);
    if (status >= 500) out.set_text("error.type", std::to_string(status));
  }

  const trace::Tracer& tracer_;
  // What every request of a method has in common, encoded once: its
  // method, the scheme and the protocol version.
  std::array<trace::AttributeList, static_cast<size_t>(Method::kOther) + 1> by_method_;
};

void TracingMiddleware::State::finish(const Response* answer) {
  if (!recording) return;
  recording = false;
  response = answer;
  // "{method} {route}", put together by hand in a string this thread
  // reuses: a format string is parsed again on every call, and this runs on
  // every request.
  thread_local std::string name;
  name.assign(method_name(method));
  if (answer != nullptr && request->route != "unmatched")
    name.append(1, ' ').append(request->route);
  const int64_t end =
      answer != nullptr ? trace::unix_ns(answer->answered_at) : trace::now_unix_ns();
  middleware.tracer_.finish({
      .context = &context,
      .parent_span_id = parent_span_id,
      .name = name,
      .kind = trace::SpanKind::kServer,
      .start_unix_ns = start_unix_ns,
      .end_unix_ns = std::max(end, start_unix_ns),
      .status = answer != nullptr && answer->status >= 500 ? trace::StatusCode::kError
                                                           : trace::StatusCode::kUnset,
      .attributes = &write_attributes,
      .arg = this,
  });
}

}  // namespace

std::shared_ptr<Middleware> tracing_middleware(const trace::Tracer& tracer) {
  return std::make_shared<TracingMiddleware>(tracer);
}

}  // namespace seatflow::http
