#include "http/tracing.hpp"

#include <string>

namespace seatflow::http {
namespace {

class TracingMiddleware final : public Middleware {
 public:
  explicit TracingMiddleware(const trace::Tracer& tracer) : tracer_(tracer) {}

  void handle(Request& request, Responder responder, const Handler& next) override {
    auto parent = trace::extract(request.headers.get_all("traceparent"),
                                 request.headers.get_all("tracestate"));
    const std::string method(method_name(request.method));
    auto span = std::make_shared<trace::Span>(tracer_.start_span(
        method, {.kind = trace::SpanKind::kServer, .parent = parent, .root = !parent}));
    if (span->recording()) {
      span->set_attribute("http.request.method", method);
      span->set_attribute("url.path", request.path);
      if (!request.query.empty()) span->set_attribute("url.query", request.query);
      span->set_attribute("url.scheme", "http");
      span->set_attribute("network.protocol.version", "1.1");
      if (!request.remote_address.empty()) {
        span->set_attribute("client.address", request.remote_address);
      }
      if (auto agent = request.header("User-Agent")) {
        span->set_attribute("user_agent.original", std::string(*agent));
      }
    }
    responder.on_send([span, &request, method](Response& response) {
      if (span->recording()) {
        if (request.route != "unmatched") {
          span->update_name(method + " " + std::string(request.route));
          span->set_attribute("http.route", std::string(request.route));
        }
        span->set_attribute("http.response.status_code", response.status);
        if (response.status >= 500) {
          span->set_attribute("error.type", std::to_string(response.status));
          span->set_status(trace::StatusCode::kError);
        }
      }
      span->end();
    });
    trace::Scope scope(span->context());
    next(request, std::move(responder));
  }

 private:
  const trace::Tracer& tracer_;
};

}  // namespace

std::shared_ptr<Middleware> tracing_middleware(const trace::Tracer& tracer) {
  return std::make_shared<TracingMiddleware>(tracer);
}

}  // namespace seatflow::http
