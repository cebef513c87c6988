// Traces across HTTP: a server span continues the caller's trace, a client
// span per outgoing call, and one trace from a client through a server.
#include "http/tracing.hpp"

#include <mutex>

#include <gtest/gtest.h>

#include "http/client.hpp"
#include "http/server.hpp"
#include "http/test_client.hpp"
#include "metrics/registry.hpp"
#include "trace/propagation.hpp"
#include "trace/testing.hpp"

namespace seatflow::http {
namespace {

using Collector = trace::testing::SpanCollector;
using trace::testing::attribute;

class TracedServer : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add_sync(Method::kGet, "/items/{id}", [](const Request&) {
      // The server span is current while the handler runs.
      const trace::SpanContext* current = trace::current_context();
      return Response::text(200, current != nullptr ? trace::to_text(*current) : "none");
    });
    router_.add_sync(Method::kGet, "/fail", [](const Request&) { return problem(503, "down"); });
    router_.add_sync(Method::kGet, "/status/{code}", [](const Request& r) {
      return Response::text(std::stoi(std::string(r.param("code"))), "");
    });
    server_ = std::make_unique<HttpServer>(ServerOptions{.port = 0, .threads = 1},
                                           chain({tracing_middleware(tracer_)},
                                                 [this](Request& r, Responder responder) {
                                                   router_.dispatch(r, std::move(responder));
                                                 }),
                                           registry_);
    ASSERT_TRUE(server_->start());
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }

  // Waits for `n` spans.
  std::vector<trace::SpanData> spans(size_t n) {
    for (int i = 0; i < 500 && collector_.all().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return collector_.all();
  }

  Collector collector_;
  trace::Tracer tracer_{{trace::Sampler::Root::kAlwaysOn, 1.0, true}, &collector_};
  metrics::Registry registry_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TracedServer, ContinuesTheCallersTrace) {
  const int64_t before = trace::now_unix_ns();
  testing::RawConnection c(server_->port());
  ASSERT_TRUE(
      c.send("GET /items/7 HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n"
             "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
             "tracestate: vendor=x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  const int64_t after = trace::now_unix_ns();
  auto seen = trace::from_text(r->body);
  ASSERT_TRUE(seen) << r->body;
  EXPECT_EQ(seen->trace_id.hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(seen->trace_state.format(), "vendor=x");

  const auto all = spans(1);
  ASSERT_EQ(all.size(), 1u);
  const trace::SpanData& s = all[0];
  EXPECT_EQ(s.name, "GET /items/{id}");
  EXPECT_EQ(s.kind, trace::SpanKind::kServer);
  EXPECT_EQ(s.context.trace_id.hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(s.parent_span_id.hex(), "b7ad6b7169203331");
  EXPECT_EQ(s.context.span_id, seen->span_id);
  EXPECT_EQ(std::get<std::string>(*attribute(s, "http.route")), "/items/{id}");
  EXPECT_EQ(std::get<std::string>(*attribute(s, "http.request.method")), "GET");
  EXPECT_EQ(std::get<std::string>(*attribute(s, "url.path")), "/items/7");
  EXPECT_EQ(std::get<std::string>(*attribute(s, "user_agent.original")), "test");
  EXPECT_EQ(std::get<int64_t>(*attribute(s, "http.response.status_code")), 200);
  EXPECT_EQ(s.status, trace::StatusCode::kUnset);
  // Timed by the server's own readings of the clock (the request read, the
  // response handed over), which fall within the call. The slack allows
  // for the two clocks' offset, taken up to a second earlier.
  EXPECT_LE(s.start_unix_ns, s.end_unix_ns);
  EXPECT_GE(s.start_unix_ns, before - 1'000'000);
  EXPECT_LE(s.end_unix_ns, after + 1'000'000);
}

// An EventSource sends its bearer token in the query; the span, exported to
// a trace store, must not carry it.
TEST_F(TracedServer, ACredentialInTheQueryIsRedacted) {
  ASSERT_TRUE(testing::get(server_->port(), "/items/1?last_event_id=4&access_token=s3cret"));
  const auto all = spans(1);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(std::get<std::string>(*attribute(all[0], "url.query")),
            "last_event_id=4&access_token=REDACTED");
}

TEST_F(TracedServer, StartsATraceWhenTheCallerHasNone) {
  ASSERT_TRUE(testing::get(server_->port(), "/items/1"));
  ASSERT_TRUE(testing::get(server_->port(), "/fail"));
  const auto all = spans(2);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_FALSE(all[0].parent_span_id.valid());
  EXPECT_NE(all[0].context.trace_id, all[1].context.trace_id);
  EXPECT_EQ(all[1].status, trace::StatusCode::kError) << "5xx marks a server span as an error";
}

TEST_F(TracedServer, OneTraceFromClientThroughServer) {
  HttpClient client;
  client.set_tracer(&tracer_);
  trace::Span parent = tracer_.start_span("purchase");
  {
    trace::Scope scope(parent);
    auto r = client.send({.url = url("/items/3")});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
  }
  parent.end();
  const auto all = spans(3);
  ASSERT_EQ(all.size(), 3u);
  const trace::SpanData* server = nullptr;
  const trace::SpanData* call = nullptr;
  for (const auto& s : all) {
    if (s.kind == trace::SpanKind::kServer) server = &s;
    if (s.kind == trace::SpanKind::kClient) call = &s;
  }
  ASSERT_TRUE(server != nullptr && call != nullptr);
  EXPECT_EQ(call->context.trace_id, parent.context().trace_id);
  EXPECT_EQ(call->parent_span_id, parent.context().span_id);
  EXPECT_EQ(server->context.trace_id, parent.context().trace_id);
  EXPECT_EQ(server->parent_span_id, call->context.span_id) << "the server's parent is the call";
  EXPECT_EQ(call->name, "GET");
  EXPECT_EQ(std::get<int64_t>(*attribute(*call, "http.response.status_code")), 200);
  EXPECT_EQ(std::get<int64_t>(*attribute(*call, "server.port")), server_->port());
}

TEST_F(TracedServer, FailedCallsAreErrorSpans) {
  HttpClient client({.max_attempts = 1});
  client.set_tracer(&tracer_);
  auto r = client.send({.url = url("/fail")});
  ASSERT_TRUE(r);
  const auto all = spans(2);
  ASSERT_EQ(all.size(), 2u);
  for (const auto& s : all) EXPECT_EQ(s.status, trace::StatusCode::kError);
}

// What a span's method, route and status imply is encoded once and reused:
// each span still carries its own.
TEST_F(TracedServer, EachSpanHasItsOwnMethodRouteAndStatus) {
  for (const char* code : {"200", "404", "503", "200"}) {
    ASSERT_TRUE(testing::get(server_->port(), std::string("/status/") + code));
  }
  ASSERT_TRUE(testing::get(server_->port(), "/items/1"));
  testing::RawConnection c(server_->port());
  ASSERT_TRUE(c.send("DELETE /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_response());

  const auto all = spans(6);
  ASSERT_EQ(all.size(), 6u);
  const int64_t statuses[] = {200, 404, 503, 200};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(all[i].name, "GET /status/{code}");
    EXPECT_EQ(std::get<std::string>(*attribute(all[i], "http.route")), "/status/{code}");
    EXPECT_EQ(std::get<int64_t>(*attribute(all[i], "http.response.status_code")), statuses[i]);
    EXPECT_EQ(attribute(all[i], "error.type").has_value(), statuses[i] >= 500);
    EXPECT_EQ(all[i].status,
              statuses[i] >= 500 ? trace::StatusCode::kError : trace::StatusCode::kUnset);
  }
  EXPECT_EQ(std::get<std::string>(*attribute(all[2], "error.type")), "503");
  EXPECT_EQ(all[4].name, "GET /items/{id}");
  EXPECT_EQ(std::get<std::string>(*attribute(all[4], "url.path")), "/items/1");
  // A path no route matches: the method alone names the span, and it has no
  // http.route.
  EXPECT_EQ(all[5].name, "DELETE");
  EXPECT_EQ(std::get<std::string>(*attribute(all[5], "http.request.method")), "DELETE");
  EXPECT_FALSE(attribute(all[5], "http.route").has_value());
  EXPECT_EQ(std::get<int64_t>(*attribute(all[5], "http.response.status_code")), 404);
  for (const auto& s : all) {
    EXPECT_EQ(std::get<std::string>(*attribute(s, "url.scheme")), "http");
    EXPECT_EQ(std::get<std::string>(*attribute(s, "network.protocol.version")), "1.1");
  }
}

}  // namespace
}  // namespace seatflow::http
