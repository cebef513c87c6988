#include "http/tracing.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <string>

namespace seatflow::http {
namespace {

class TracingMiddleware final : public Middleware {
 public:
  explicit TracingMiddleware(const trace::Tracer& tracer) : tracer_(tracer) {}

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
  struct Kind;
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
    const Kind* kind = nullptr;          // set when the span is recorded
    trace::SpanContext context;
    trace::SpanId parent_span_id;
    int64_t start_unix_ns = 0;  // when the server had read the request
    bool recording = false;
  };

  // What the spans of one method, route and status have in common, encoded
  // once: the span's name and the attributes that follow from those three
  // (the method, route and status themselves, the scheme, the protocol
  // version). A server answers a handful of routes, so nearly every span
  // finds its kind already encoded in its thread's cache.
  struct Kind {
    Method method = Method::kOther;
    int status = -1;  // -1: no response (the server stopped first)
    std::string route;
    std::string name;  // "{method} {route}", or the method alone
    trace::AttributeList attributes;
  };
  static const Kind& kind_of(Method method, std::string_view route, int status);

  // The span's attributes, by the semantic conventions for HTTP servers;
  // `arg` is the State.
  static void write_attributes(trace::AttributeWriter& out, const void* arg) {
    const auto& state = *static_cast<const State*>(arg);
    out.set_all(state.kind->attributes);
    if (state.response == nullptr) return;
    const Request& request = *state.request;
    out.set_text("url.path", request.path);
    if (!request.query.empty()) out.set_text("url.query", redact_query(request.query));
    if (!request.remote_address.empty()) out.set_text("client.address", request.remote_address);
    if (auto agent = request.header("User-Agent")) out.set_text("user_agent.original", *agent);
  }

  const trace::Tracer& tracer_;
};

const TracingMiddleware::Kind& TracingMiddleware::kind_of(Method method, std::string_view route,
                                                          int status) {
  // Direct-mapped by where the route's text lies (the router's table, which
  // outlives its requests) and checked by its content, so that an entry
  // left by a router since freed is never taken for another's.
  constexpr size_t kSlots = 64;
  thread_local std::array<Kind, kSlots> cache;
  const auto hash = reinterpret_cast<uintptr_t>(route.data()) >> 3 ^
                    static_cast<uintptr_t>(status) * 31 ^ static_cast<uintptr_t>(method) * 7;
  Kind& kind = cache[hash % kSlots];
  if (kind.status == status && kind.method == method && kind.route == route) return kind;

  kind.method = method;
  kind.status = status;
  kind.route.assign(route);
  const bool has_route = status >= 0 && route != "unmatched";
  kind.name.assign(method_name(method));
  if (has_route) kind.name.append(1, ' ').append(route);
  auto& attributes = kind.attributes;
  attributes.clear();
  attributes.set_text("http.request.method", method_name(method));
  attributes.set_text("url.scheme", "http");
  attributes.set_text("network.protocol.version", "1.1");
  if (status < 0) return kind;
  if (has_route) attributes.set_text("http.route", route);
  attributes.set_int("http.response.status_code", status);
  if (status >= 500) attributes.set_text("error.type", std::to_string(status));
  return kind;
}

void TracingMiddleware::State::finish(const Response* answer) {
  if (!recording) return;
  recording = false;
  response = answer;
  kind = &kind_of(method, answer != nullptr ? request->route : std::string_view(),
                  answer != nullptr ? answer->status : -1);
  const int64_t end =
      answer != nullptr ? trace::unix_ns(answer->answered_at) : trace::now_unix_ns();
  middleware.tracer_.finish({
      .context = &context,
      .parent_span_id = parent_span_id,
      .name = kind->name,
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
