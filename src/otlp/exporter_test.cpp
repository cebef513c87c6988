#include "otlp/exporter.hpp"
#include "otlp/testing.hpp"

#include <cstdlib>
#include <deque>
#include <future>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "http/server.hpp"
#include "http/test_server.hpp"
#include "metrics/registry.hpp"

namespace seatflow::otlp {
namespace {

namespace json = boost::json;
using http::testing::TestServer;
using std::chrono::milliseconds;

// An OTLP/HTTP receiver that records every request and answers from a
// script (200 once the script is empty). A reply may be held until
// release() to keep the exporter busy.
class FakeReceiver {
 public:
  struct Reply {
    int status = 200;
    std::string retry_after;
    std::string body = "{}";
    bool hold = false;
  };

  FakeReceiver() {
    http::ServerOptions options;
    options.port = 0;
    options.threads = 1;
    server_ = std::make_unique<http::HttpServer>(
        options,
        [this](http::Request& r, http::Responder responder) { handle(r, std::move(responder)); },
        registry_);
    if (auto started = server_->start(); !started) throw std::runtime_error("receiver start");
  }
  ~FakeReceiver() {
    release();
    server_.reset();
  }
  FakeReceiver(const FakeReceiver&) = delete;
  FakeReceiver& operator=(const FakeReceiver&) = delete;

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/traces";
  }
  void script(std::vector<Reply> replies) {
    std::lock_guard lock(mutex_);
    replies_.assign(replies.begin(), replies.end());
  }
  void release() {
    std::vector<http::Responder> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (auto& responder : held) responder.send(http::Response::json(200, "{}"));
  }
  std::vector<json::object> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<std::chrono::steady_clock::time_point> arrivals() const {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }
  size_t request_count() const { return requests().size(); }
  std::vector<std::string> content_types() const {
    std::lock_guard lock(mutex_);
    return content_types_;
  }

  // Every span received, in order.
  std::vector<json::object> spans() const {
    std::vector<json::object> out;
    for (const auto& request : requests()) {
      for (const auto& rs : request.at("resourceSpans").as_array()) {
        for (const auto& ss : rs.at("scopeSpans").as_array()) {
          for (const auto& s : ss.at("spans").as_array()) out.push_back(s.as_object());
        }
      }
    }
    return out;
  }

 private:
  void handle(http::Request& request, http::Responder responder) {
    std::unique_lock lock(mutex_);
    const bool protobuf = request.header("Content-Type") == "application/x-protobuf";
    requests_.push_back(protobuf ? testing::decode(request.body)
                                 : json::parse(request.body).as_object());
    arrivals_.push_back(std::chrono::steady_clock::now());
    content_types_.emplace_back(request.header("Content-Type").value_or(""));
    Reply reply;
    if (!replies_.empty()) {
      reply = replies_.front();
      replies_.pop_front();
    }
    if (reply.hold) {
      held_.push_back(std::move(responder));
      return;
    }
    lock.unlock();
    http::Response response = http::Response::json(reply.status, reply.body);
    if (!reply.retry_after.empty()) response.headers.set("Retry-After", reply.retry_after);
    responder.send(std::move(response));
  }

  metrics::Registry registry_;
  std::unique_ptr<http::HttpServer> server_;
  mutable std::mutex mutex_;
  std::deque<Reply> replies_;
  std::vector<http::Responder> held_;
  std::vector<json::object> requests_;
  std::vector<std::chrono::steady_clock::time_point> arrivals_;
  std::vector<std::string> content_types_;
};

// JSON unless said otherwise: readable. The tests of ExporterProtocols run
// in both (protobuf batches of one resource are sent from the queue).
ExporterOptions options_for(const FakeReceiver& receiver, Protocol protocol = Protocol::kHttpJson) {
  ExporterOptions options;
  options.endpoint = receiver.endpoint();
  options.protocol = protocol;
  options.service_name = "order";
  options.schedule_delay = milliseconds(3'600'000);  // batches leave when full or flushed
  options.max_batch_size = 4;
  options.max_queue_size = 16;
  options.timeout = milliseconds(5'000);
  options.backoff_initial = milliseconds(20);
  options.backoff_max = milliseconds(100);
  return options;
}

// The service.name of a request's `i`th resource.
std::string service_of(const json::object& request, size_t i = 0) {
  return std::string(request.at("resourceSpans")
                         .at(i)
                         .at("resource")
                         .at("attributes")
                         .at(0)
                         .at("value")
                         .at("stringValue")
                         .as_string());
}

trace::SpanData span_named(std::string name) {
  trace::SpanData span;
  span.context.trace_id = trace::new_trace_id();
  span.context.span_id = trace::new_span_id();
  span.context.flags = trace::kFlagSampled;
  span.name = std::move(name);
  span.kind = trace::SpanKind::kInternal;
  span.start_unix_ns = trace::now_unix_ns();
  span.end_unix_ns = span.start_unix_ns + 1000;
  return span;
}

TEST(OtlpExporter, AFullBatchIsSentAtOnceAsJson) {
  FakeReceiver receiver;
  metrics::Registry registry;
  OtlpExporter exporter(options_for(receiver), &registry);
  for (int i = 0; i < 4; ++i) exporter.on_end(span_named("s" + std::to_string(i)));

  ASSERT_TRUE(TestServer::eventually([&] { return exporter.stats().exported == 4; }));
  ASSERT_EQ(receiver.request_count(), 1U);
  EXPECT_EQ(receiver.content_types()[0], "application/json");
  const auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 4U);
  EXPECT_EQ(spans[3].at("name"), "s3");
  EXPECT_EQ(service_of(receiver.requests()[0]), "order");
  EXPECT_NE(registry.serialize().find("seatflow_trace_spans_total{outcome=\"exported\"} 4"),
            std::string::npos);
}

TEST(OtlpExporter, SendsProtobufByDefault) {
  FakeReceiver receiver;
  ExporterOptions options = options_for(receiver);
  options.protocol = ExporterOptions{}.protocol;
  OtlpExporter exporter(options, nullptr);
  for (int i = 0; i < 4; ++i) exporter.on_end(span_named("s" + std::to_string(i)));

  ASSERT_TRUE(TestServer::eventually([&] { return exporter.stats().exported == 4; }));
  EXPECT_EQ(receiver.content_types()[0], "application/x-protobuf");
  const auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 4U);
  EXPECT_EQ(spans[3].at("name"), "s3");
}

TEST(OtlpExporter, FlushSendsAPartialBatch) {
  FakeReceiver receiver;
  OtlpExporter exporter(options_for(receiver), nullptr);
  exporter.on_end(span_named("lonely"));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  EXPECT_EQ(receiver.spans().size(), 1U);
  EXPECT_EQ(exporter.stats().exported, 1U);
}

TEST(OtlpExporter, TheScheduleDelaySendsWithoutAFlush) {
  FakeReceiver receiver;
  ExporterOptions options = options_for(receiver);
  options.schedule_delay = milliseconds(50);
  OtlpExporter exporter(options, nullptr);
  exporter.on_end(span_named("timed"));
  EXPECT_TRUE(TestServer::eventually([&] { return exporter.stats().exported == 1; }));
}

TEST(OtlpExporter, RetriesUnavailableAndThrottledResponses) {
  FakeReceiver receiver;
  receiver.script({{.status = 503}, {.status = 502}, {.status = 504}, {.status = 429}});
  OtlpExporter exporter(options_for(receiver), nullptr);
  exporter.on_end(span_named("persistent"));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  EXPECT_EQ(receiver.request_count(), 5U);
  EXPECT_EQ(exporter.stats().exported, 1U);
  EXPECT_EQ(exporter.stats().failed, 0U);
}

class ExporterProtocols : public ::testing::TestWithParam<Protocol> {};

INSTANTIATE_TEST_SUITE_P(Both, ExporterProtocols,
                         ::testing::Values(Protocol::kHttpJson, Protocol::kHttpProtobuf),
                         [](const ::testing::TestParamInfo<Protocol>& param) {
                           return param.param == Protocol::kHttpJson ? "Json" : "Protobuf";
                         });

// More than a batch at once: a flush of ten spans in batches of four. In
// protobuf the second and third requests' heads are written over the end
// of the batch before, once that one's answer is in.
TEST_P(ExporterProtocols, SeveralBatchesLeaveInOrder) {
  FakeReceiver receiver;
  ExporterOptions options = options_for(receiver, GetParam());
  options.max_queue_size = 16;
  OtlpExporter exporter(options, nullptr);
  {
    // Held until all ten are queued, so that one flush takes them all.
    receiver.script({{.hold = true}});
    for (int i = 0; i < 4; ++i) exporter.on_end(span_named("warm-up " + std::to_string(i)));
    ASSERT_TRUE(TestServer::eventually([&] { return receiver.request_count() == 1; }));
  }
  for (int i = 0; i < 10; ++i) exporter.on_end(span_named("s" + std::to_string(i)));
  receiver.release();
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  ASSERT_EQ(receiver.request_count(), 4U);
  const auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 14U);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(spans[4 + i].at("name").as_string(), "s" + std::to_string(i));
  }
  for (const auto& request : receiver.requests()) EXPECT_EQ(service_of(request), "order");
  EXPECT_EQ(exporter.stats().exported, 14U);
}

TEST_P(ExporterProtocols, ARefusedBatchIsSentAgainBeforeTheNextOne) {
  FakeReceiver receiver;
  receiver.script({{.status = 503}});
  OtlpExporter exporter(options_for(receiver, GetParam()), nullptr);
  // The worker does not wait for an export's answer: it reads it when the
  // next batch is ready (or soon after, if none is), and retries first.
  for (int i = 0; i < 4; ++i) exporter.on_end(span_named("s" + std::to_string(i)));
  ASSERT_TRUE(TestServer::eventually([&] { return receiver.request_count() >= 1; }));
  for (int i = 4; i < 8; ++i) exporter.on_end(span_named("s" + std::to_string(i)));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  ASSERT_EQ(receiver.request_count(), 3U);
  const auto requests = receiver.requests();
  EXPECT_EQ(requests[0], requests[1]) << "the refused batch, sent again";
  EXPECT_NE(requests[1], requests[2]);
  EXPECT_EQ(exporter.stats().exported, 8U);
  EXPECT_EQ(exporter.stats().failed, 0U);
}

TEST(OtlpExporter, HonoursRetryAfter) {
  FakeReceiver receiver;
  receiver.script({{.status = 429, .retry_after = "1"}});
  OtlpExporter exporter(options_for(receiver), nullptr);
  exporter.on_end(span_named("patient"));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  const auto arrivals = receiver.arrivals();
  ASSERT_EQ(arrivals.size(), 2U);
  // The backoff alone would retry after at most 20 ms.
  EXPECT_GE(arrivals[1] - arrivals[0], milliseconds(950));
}

TEST(OtlpExporter, NeverRetriesABadRequest) {
  FakeReceiver receiver;
  receiver.script({{.status = 400, .body = R"({"code":3,"message":"bad"})"}});
  metrics::Registry registry;
  OtlpExporter exporter(options_for(receiver), &registry);
  exporter.on_end(span_named("doomed"));
  exporter.on_end(span_named("doomed too"));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  EXPECT_EQ(receiver.request_count(), 1U);
  EXPECT_EQ(exporter.stats().failed, 2U);
  EXPECT_EQ(exporter.stats().exported, 0U);
  EXPECT_NE(registry.serialize().find("seatflow_trace_spans_total{outcome=\"failed\"} 2"),
            std::string::npos);
}

TEST(OtlpExporter, GivesUpAfterMaxAttempts) {
  FakeReceiver receiver;
  receiver.script(std::vector<FakeReceiver::Reply>(10, {.status = 503}));
  ExporterOptions options = options_for(receiver);
  options.max_attempts = 3;
  OtlpExporter exporter(options, nullptr);
  exporter.on_end(span_named("unlucky"));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  EXPECT_EQ(receiver.request_count(), 3U);
  EXPECT_EQ(exporter.stats().failed, 1U);
}

TEST(OtlpExporter, AnUnreachableReceiverCountsFailures) {
  FakeReceiver receiver;
  ExporterOptions options = options_for(receiver);
  options.endpoint = "http://127.0.0.1:1/v1/traces";  // nothing listens on port 1
  options.max_attempts = 2;
  OtlpExporter exporter(options, nullptr);
  exporter.on_end(span_named("lost"));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  EXPECT_EQ(exporter.stats().failed, 1U);
}

TEST(OtlpExporter, PartialSuccessCountsTheRejectedSpansAsFailed) {
  FakeReceiver receiver;
  receiver.script({{.body = R"({"partialSuccess":{"rejectedSpans":"1","errorMessage":"x"}})"}});
  OtlpExporter exporter(options_for(receiver), nullptr);
  exporter.on_end(span_named("a"));
  exporter.on_end(span_named("b"));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  EXPECT_EQ(exporter.stats().exported, 1U);
  EXPECT_EQ(exporter.stats().failed, 1U);
}

TEST_P(ExporterProtocols, AFullQueueDropsAndCountsInsteadOfBlocking) {
  FakeReceiver receiver;
  receiver.script({{.hold = true}});
  metrics::Registry registry;
  ExporterOptions options = options_for(receiver, GetParam());
  options.max_queue_size = 4;
  OtlpExporter exporter(options, &registry);

  // The first batch goes out and its reply is held.
  for (int i = 0; i < 4; ++i) exporter.on_end(span_named("first"));
  ASSERT_TRUE(TestServer::eventually([&] { return receiver.request_count() == 1; }));
  // The worker takes the second batch off the queue, then waits for the
  // first one's answer before sending it: it is busy from here on.
  for (int i = 0; i < 4; ++i) exporter.on_end(span_named("second"));
  ASSERT_TRUE(TestServer::eventually([&] { return exporter.stats().queued == 0; }));
  // Four fit in the queue again; the next three are dropped on the spot.
  for (int i = 0; i < 7; ++i) exporter.on_end(span_named("more"));
  EXPECT_EQ(exporter.stats().queued, 4U);
  EXPECT_EQ(exporter.stats().dropped, 3U);

  receiver.release();
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  EXPECT_EQ(exporter.stats().exported, 12U);
  EXPECT_NE(registry.serialize().find("seatflow_trace_spans_total{outcome=\"dropped\"} 3"),
            std::string::npos);
}

TEST(OtlpExporter, ShutdownFlushesWhatIsQueued) {
  FakeReceiver receiver;
  auto exporter = std::make_unique<OtlpExporter>(options_for(receiver), nullptr);
  exporter->on_end(span_named("last words"));
  exporter->on_end(span_named("really last"));
  exporter->shutdown(milliseconds(5'000));
  EXPECT_EQ(receiver.spans().size(), 2U);
  EXPECT_EQ(exporter->stats().exported, 2U);
  exporter->on_end(span_named("too late"));
  EXPECT_EQ(exporter->stats().dropped, 1U);
  exporter.reset();  // a second shutdown is harmless
}

TEST(OtlpExporter, ShutdownGivesUpARetryThatWouldPassItsDeadline) {
  FakeReceiver receiver;
  receiver.script({{.status = 503, .retry_after = "60"}});
  OtlpExporter exporter(options_for(receiver), nullptr);
  exporter.on_end(span_named("stuck"));
  EXPECT_FALSE(exporter.force_flush(milliseconds(1)));  // starts the export, waiting for nothing
  ASSERT_TRUE(TestServer::eventually([&] { return receiver.request_count() == 1; }));
  const auto started = std::chrono::steady_clock::now();
  exporter.shutdown(milliseconds(200));
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(5'000));
  EXPECT_EQ(exporter.stats().failed, 1U);
}

TEST_P(ExporterProtocols, EachServiceIsExportedUnderItsOwnName) {
  FakeReceiver receiver;
  OtlpExporter exporter(options_for(receiver, GetParam()), nullptr);
  trace::SpanProcessor& payment = exporter.processor_for("payment");
  EXPECT_EQ(&payment, &exporter.processor_for("payment"));
  exporter.on_end(span_named("order span"));
  payment.on_end(span_named("payment span"));
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));

  std::map<std::string, std::string> service_of_span;
  for (const auto& request : receiver.requests()) {
    for (const auto& rs : request.at("resourceSpans").as_array()) {
      const std::string service(
          rs.at("resource").at("attributes").at(0).at("value").at("stringValue").as_string());
      for (const auto& s : rs.at("scopeSpans").at(0).at("spans").as_array()) {
        service_of_span[std::string(s.at("name").as_string())] = service;
      }
    }
  }
  EXPECT_EQ(service_of_span["order span"], "order");
  EXPECT_EQ(service_of_span["payment span"], "payment");
}

TEST(OtlpExporter, WorksAsTheTracersProcessor) {
  FakeReceiver receiver;
  OtlpExporter exporter(options_for(receiver), nullptr);
  const trace::Tracer tracer(trace::Sampler{}, &exporter);
  std::string parent_id;
  {
    trace::Span parent = tracer.start_span("parent", {.kind = trace::SpanKind::kServer});
    parent_id = parent.context().span_id.hex();
    trace::Scope scope(parent);
    trace::Span child = tracer.start_span("child", {.kind = trace::SpanKind::kClient});
    child.set_attribute("n", 7);
  }
  ASSERT_TRUE(exporter.force_flush(milliseconds(5'000)));
  const auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 2U);
  EXPECT_EQ(spans[0].at("name"), "child");
  EXPECT_EQ(spans[0].at("parentSpanId").as_string(), parent_id);
  EXPECT_EQ(spans[0].at("kind"), 3);
  EXPECT_EQ(spans[1].at("kind"), 2);
}

// The environment, as the OpenTelemetry specification names it.
class ExporterEnvironment : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* name :
         {"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
          "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_HEADERS",
          "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
          "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_SCHEDULE_DELAY",
          "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_RESOURCE_ATTRIBUTES"}) {
      unsetenv(name);
    }
  }
};

TEST_F(ExporterEnvironment, NoEndpointMeansNoExport) {
  std::vector<std::string> warnings;
  EXPECT_FALSE(ExporterOptions::from_environment("seatflow", &warnings));
  EXPECT_TRUE(warnings.empty());
}

TEST_F(ExporterEnvironment, TheTracesEndpointIsUsedAsIs) {
  setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom", 1);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318", 1);
  auto options = ExporterOptions::from_environment("seatflow", nullptr);
  ASSERT_TRUE(options);
  EXPECT_EQ(options->endpoint, "http://collector:4318/custom");
}

TEST_F(ExporterEnvironment, TheGeneralEndpointGetsTheTracesPath) {
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", 1);
  auto options = ExporterOptions::from_environment("seatflow", nullptr);
  ASSERT_TRUE(options);
  EXPECT_EQ(options->endpoint, "http://collector:4318/v1/traces");
}

TEST_F(ExporterEnvironment, OtlpWithoutAnEndpointUsesTheDefault) {
  setenv("OTEL_TRACES_EXPORTER", "otlp", 1);
  auto options = ExporterOptions::from_environment("seatflow", nullptr);
  ASSERT_TRUE(options);
  EXPECT_EQ(options->endpoint, "http://localhost:4318/v1/traces");
}

TEST_F(ExporterEnvironment, NoneTurnsExportOff) {
  setenv("OTEL_TRACES_EXPORTER", "none", 1);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", 1);
  EXPECT_FALSE(ExporterOptions::from_environment("seatflow", nullptr));
}

TEST_F(ExporterEnvironment, ServiceNameHeadersAndBatchSettings) {
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", 1);
  setenv("OTEL_SERVICE_NAME", "payment", 1);
  setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret%20one,x-team=seats", 1);
  setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
  setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
  setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500", 1);
  setenv("OTEL_BSP_SCHEDULE_DELAY", "soon", 1);
  std::vector<std::string> warnings;
  auto options = ExporterOptions::from_environment("seatflow", &warnings);
  ASSERT_TRUE(options);
  EXPECT_EQ(options->service_name, "payment");
  EXPECT_EQ(options->headers.get("api-key"), "secret one");
  EXPECT_EQ(options->headers.get("x-team"), "seats");
  EXPECT_EQ(options->timeout, milliseconds(2500));
  EXPECT_EQ(options->max_queue_size, 100U);
  EXPECT_EQ(options->max_batch_size, 100U);  // cut to the queue
  EXPECT_EQ(options->schedule_delay, milliseconds(1000));
  ASSERT_EQ(warnings.size(), 2U);
  EXPECT_NE(warnings[0].find("OTEL_BSP_SCHEDULE_DELAY"), std::string::npos);
}

TEST_F(ExporterEnvironment, AnHttpsEndpointIsRefusedWithAWarning) {
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318", 1);
  std::vector<std::string> warnings;
  EXPECT_FALSE(ExporterOptions::from_environment("seatflow", &warnings));
  ASSERT_EQ(warnings.size(), 1U);
}

}  // namespace
}  // namespace seatflow::otlp
