// The exporter against a real receiver: spans sent to Jaeger over OTLP/HTTP
// come back from its query API with their parents, kinds, attributes,
// events, links, status and service names intact.
//
// Needs SEATFLOW_TEST_JAEGER_OTLP_URL and SEATFLOW_TEST_JAEGER_QUERY_URL;
// scripts/test.sh starts a Jaeger and sets them.
#include <cstdlib>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "http/client.hpp"
#include "otlp/exporter.hpp"

namespace seatflow::otlp {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name << " is not set: run the suite with scripts/test.sh, which starts Jaeger";
    return {};
  }
  return value;
}

// Everything Jaeger holds for `trace_id`, as OTLP JSON, once it holds
// `expected` spans (Jaeger stores what it receives after a short batch).
std::optional<json::object> read_trace(const std::string& query_url, const std::string& trace_id,
                                       size_t expected) {
  http::HttpClient client;
  const std::string url = query_url + "/api/v3/traces/" += trace_id;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto response = client.send({.url = url});
    if (response && response->status == 200) {
      json::object body = json::parse(response->body).as_object();
      size_t spans = 0;
      for (const auto& rs : body.at("result").at("resourceSpans").as_array()) {
        for (const auto& ss : rs.at("scopeSpans").as_array())
          spans += ss.at("spans").as_array().size();
      }
      if (spans >= expected) return body;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return std::nullopt;
}

struct ReadSpan {
  std::string service;
  json::object span;

  const json::value* attribute(std::string_view key) const {
    for (const auto& a : span.at("attributes").as_array()) {
      if (a.at("key").as_string() == key) return &a.at("value");
    }
    return nullptr;
  }
};

// Each of the two encodings, through the same receiver.
class Jaeger : public ::testing::TestWithParam<Protocol> {};

TEST_P(Jaeger, SpansSurviveTheRoundTrip) {
  const std::string otlp_url = env_or_fail("SEATFLOW_TEST_JAEGER_OTLP_URL");
  const std::string query_url = env_or_fail("SEATFLOW_TEST_JAEGER_QUERY_URL");
  if (otlp_url.empty() || query_url.empty()) return;

  ExporterOptions options;
  options.endpoint = otlp_url;
  options.protocol = GetParam();
  options.service_name = "order";
  OtlpExporter exporter(options, nullptr);
  const trace::Tracer order(trace::Sampler{}, &exporter);
  const trace::Tracer reservation(trace::Sampler{}, &exporter.processor_for("reservation"));

  std::string trace_id;
  std::map<std::string, std::string> ids;  // span name -> span id
  std::string producer_id;
  {
    trace::Span server = order.start_span("POST /api/orders", {.kind = trace::SpanKind::kServer});
    server.set_attribute("http.request.method", "POST")
        .set_attribute("http.response.status_code", 202)
        .set_attribute("seatflow.amount", 12.5)
        .set_attribute("seatflow.retry", true)
        .set_attribute("seatflow.big", int64_t{9'007'199'254'740'993});
    trace_id = server.context().trace_id.hex();
    ids["POST /api/orders"] = server.context().span_id.hex();
    trace::Scope scope(server);
    {
      trace::Span client = order.start_span("POST", {.kind = trace::SpanKind::kClient});
      ids["POST"] = client.context().span_id.hex();
      client.add_event("retry", {{"attempt", int64_t{2}}});
    }
    trace::Span producer =
        order.start_span("send order.confirmed", {.kind = trace::SpanKind::kProducer});
    ids["send order.confirmed"] = producer.context().span_id.hex();
    producer_id = ids["send order.confirmed"];
    const trace::SpanContext producer_context = producer.context();
    producer.end();

    trace::Span consumer = reservation.start_span(
        "process order.confirmed",
        {.kind = trace::SpanKind::kConsumer,
         .parent = producer_context,
         .links = {{producer_context, {{"messaging.message.id", std::string("m-1")}}}}});
    ids["process order.confirmed"] = consumer.context().span_id.hex();
    consumer.set_status(trace::StatusCode::kError, "hold expired");
  }
  ASSERT_TRUE(exporter.force_flush(milliseconds(10'000)));
  ASSERT_EQ(exporter.stats().exported, 4U);
  ASSERT_EQ(exporter.stats().failed, 0U);

  const auto trace_json = read_trace(query_url, trace_id, 4);
  ASSERT_TRUE(trace_json) << "Jaeger did not return the 4 spans of trace " << trace_id;
  std::map<std::string, ReadSpan> spans;
  for (const auto& rs : trace_json->at("result").at("resourceSpans").as_array()) {
    std::string service;
    for (const auto& a : rs.at("resource").at("attributes").as_array()) {
      if (a.at("key") == "service.name") service = a.at("value").at("stringValue").as_string();
    }
    for (const auto& ss : rs.at("scopeSpans").as_array()) {
      for (const auto& s : ss.at("spans").as_array()) {
        spans[std::string(s.at("name").as_string())] = {service, s.as_object()};
      }
    }
  }
  ASSERT_EQ(spans.size(), 4U);

  const ReadSpan& server = spans.at("POST /api/orders");
  EXPECT_EQ(server.service, "order");
  EXPECT_EQ(server.span.at("kind"), 2);
  EXPECT_FALSE(server.span.contains("parentSpanId") &&
               !server.span.at("parentSpanId").as_string().empty());
  ASSERT_TRUE(server.attribute("http.request.method"));
  EXPECT_EQ(server.attribute("http.request.method")->at("stringValue"), "POST");
  EXPECT_EQ(server.attribute("http.response.status_code")->at("intValue"), "202");
  EXPECT_EQ(server.attribute("seatflow.amount")->at("doubleValue"), 12.5);
  EXPECT_EQ(server.attribute("seatflow.retry")->at("boolValue"), true);
  EXPECT_EQ(server.attribute("seatflow.big")->at("intValue"), "9007199254740993");

  const ReadSpan& client = spans.at("POST");
  EXPECT_EQ(client.span.at("kind"), 3);
  EXPECT_EQ(client.span.at("parentSpanId").as_string(), ids["POST /api/orders"]);
  ASSERT_EQ(client.span.at("events").as_array().size(), 1U);
  EXPECT_EQ(client.span.at("events").at(0).at("name"), "retry");

  const ReadSpan& producer = spans.at("send order.confirmed");
  EXPECT_EQ(producer.span.at("kind"), 4);
  EXPECT_EQ(producer.span.at("parentSpanId").as_string(), ids["POST /api/orders"]);

  const ReadSpan& consumer = spans.at("process order.confirmed");
  EXPECT_EQ(consumer.service, "reservation");
  EXPECT_EQ(consumer.span.at("kind"), 5);
  EXPECT_EQ(consumer.span.at("parentSpanId").as_string(), producer_id);
  ASSERT_EQ(consumer.span.at("links").as_array().size(), 1U);
  EXPECT_EQ(consumer.span.at("links").at(0).at("traceId").as_string(), trace_id);
  EXPECT_EQ(consumer.span.at("links").at(0).at("spanId").as_string(), producer_id);
  EXPECT_EQ(consumer.span.at("status").at("code"), 2);
  EXPECT_EQ(consumer.span.at("status").at("message"), "hold expired");
}

INSTANTIATE_TEST_SUITE_P(Protocols, Jaeger,
                         ::testing::Values(Protocol::kHttpProtobuf, Protocol::kHttpJson),
                         [](const ::testing::TestParamInfo<Protocol>& param) {
                           return param.param == Protocol::kHttpProtobuf ? "Protobuf" : "Json";
                         });

}  // namespace
}  // namespace seatflow::otlp
