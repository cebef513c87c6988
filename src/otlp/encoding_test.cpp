#include "otlp/encoding.hpp"
#include "otlp/testing.hpp"

#include <cmath>
#include <limits>
#include <map>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace seatflow::otlp {
namespace {

namespace json = boost::json;

trace::SpanContext context(std::string_view trace_hex, std::string_view span_hex) {
  trace::SpanContext c;
  c.trace_id = *trace::TraceId::from_hex(trace_hex);
  c.span_id = *trace::SpanId::from_hex(span_hex);
  c.flags = trace::kFlagSampled | trace::kFlagRandom;
  return c;
}

trace::SpanData full_span() {
  trace::SpanData span;
  span.context = context("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
  span.context.trace_state.set("vendor", "value");
  span.parent_span_id = *trace::SpanId::from_hex("53995c3f42cd8ad8");
  span.name = "POST /api/orders";
  span.kind = trace::SpanKind::kServer;
  span.start_unix_ns = 1'700'000'000'123'456'789;
  span.end_unix_ns = 1'700'000'000'223'456'789;
  span.attributes = {{"http.request.method", std::string("POST")},
                     {"http.response.status_code", int64_t{9'007'199'254'740'993}},
                     {"ratio", 0.25},
                     {"retry", true}};
  span.events = {{"hold.expired", 1'700'000'000'200'000'000, {{"seats", int64_t{4}}}}};
  span.links = {{context("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"),
                 {{"messaging.message.id", std::string("m-1")}}}};
  span.status = trace::StatusCode::kError;
  span.status_message = "payment declined";
  return span;
}

json::object encode_one(const trace::SpanData& span, const Resource& resource) {
  std::string encoded;
  encode_span(span, encoded);
  const ResourceBatch batch{&resource, {encoded}};
  return json::parse(encode_export_request({&batch, 1})).as_object();
}

const json::object& only_span(const json::object& request) {
  return request.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).as_object();
}

TEST(Encoding, WritesEveryFieldAsTheJsonMappingSays) {
  const Resource resource = Resource::make("order");
  const json::object request = encode_one(full_span(), resource);
  const json::object& span = only_span(request);

  EXPECT_EQ(span.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.at("spanId"), "00f067aa0ba902b7");
  EXPECT_EQ(span.at("parentSpanId"), "53995c3f42cd8ad8");
  EXPECT_EQ(span.at("traceState"), "vendor=value");
  EXPECT_EQ(span.at("flags"), 3);
  EXPECT_EQ(span.at("name"), "POST /api/orders");
  EXPECT_EQ(span.at("kind"), 2);  // an integer enum, SPAN_KIND_SERVER
  // 64-bit integers are strings, so no precision is lost in JavaScript.
  EXPECT_EQ(span.at("startTimeUnixNano"), "1700000000123456789");
  EXPECT_EQ(span.at("endTimeUnixNano"), "1700000000223456789");

  const json::array& attributes = span.at("attributes").as_array();
  ASSERT_EQ(attributes.size(), 4U);
  EXPECT_EQ(attributes[0].at("key"), "http.request.method");
  EXPECT_EQ(attributes[0].at("value").at("stringValue"), "POST");
  EXPECT_EQ(attributes[1].at("value").at("intValue"), "9007199254740993");
  EXPECT_EQ(attributes[2].at("value").at("doubleValue"), 0.25);
  EXPECT_EQ(attributes[3].at("value").at("boolValue"), true);

  const json::object& event = span.at("events").at(0).as_object();
  EXPECT_EQ(event.at("name"), "hold.expired");
  EXPECT_EQ(event.at("timeUnixNano"), "1700000000200000000");
  EXPECT_EQ(event.at("attributes").at(0).at("value").at("intValue"), "4");

  const json::object& link = span.at("links").at(0).as_object();
  EXPECT_EQ(link.at("traceId"), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(link.at("spanId"), "b7ad6b7169203331");
  EXPECT_EQ(link.at("attributes").at(0).at("value").at("stringValue"), "m-1");

  EXPECT_EQ(span.at("status").at("code"), 2);
  EXPECT_EQ(span.at("status").at("message"), "payment declined");

  const json::object& scope =
      request.at("resourceSpans").at(0).at("scopeSpans").at(0).at("scope").as_object();
  EXPECT_EQ(scope.at("name"), "seatflow");
}

TEST(Encoding, ARootSpanHasNoParentAndAnUnsetStatusIsEmpty) {
  trace::SpanData span = full_span();
  span.parent_span_id = {};
  span.status = trace::StatusCode::kUnset;
  span.events.clear();
  span.links.clear();
  const json::object request = encode_one(span, Resource::make("order"));
  const json::object& encoded = only_span(request);
  EXPECT_FALSE(encoded.contains("parentSpanId"));
  EXPECT_FALSE(encoded.contains("events"));
  EXPECT_FALSE(encoded.contains("links"));
  EXPECT_TRUE(encoded.at("status").as_object().empty());
}

TEST(Encoding, NonFiniteDoublesAreTheMappingsStrings) {
  trace::SpanData span = full_span();
  span.attributes = {{"nan", std::numeric_limits<double>::quiet_NaN()},
                     {"inf", std::numeric_limits<double>::infinity()},
                     {"ninf", -std::numeric_limits<double>::infinity()}};
  const json::object request = encode_one(span, Resource::make("order"));
  const json::array& attributes = only_span(request).at("attributes").as_array();
  EXPECT_EQ(attributes[0].at("value").at("doubleValue"), "NaN");
  EXPECT_EQ(attributes[1].at("value").at("doubleValue"), "Infinity");
  EXPECT_EQ(attributes[2].at("value").at("doubleValue"), "-Infinity");
}

TEST(Encoding, InvalidUtf8IsRepairedAndControlCharactersEscaped) {
  std::string out;
  append_json_utf8(out, "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xab");
  EXPECT_EQ(out, "\"ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xab\"");

  out.clear();
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate.
  append_json_utf8(out,
                   "a\x80"
                   "b\xe2\x82"
                   "c\xc0\xaf"
                   "d\xed\xa0\x80");
  const std::string r = "\xef\xbf\xbd";  // U+FFFD, one per byte that starts no valid sequence
  EXPECT_EQ(out, "\"a" + r + "b" + r + r + "c" + r + r + "d" + r + r + r + "\"");
  EXPECT_TRUE(json::parse(out).is_string());

  out.clear();
  append_json_utf8(out, std::string("q\"\\\n\x01\x7f", 6));
  EXPECT_EQ(out, "\"q\\\"\\\\\\n\\u0001\\u007f\"");
}

TEST(Encoding, SpansAreGroupedUnderTheirResource) {
  const Resource order = Resource::make("order");
  const Resource payment = Resource::make("payment");
  std::string span;
  encode_span(full_span(), span);
  const std::vector<ResourceBatch> batches = {{&order, {span, span}}, {&payment, {span}}};
  const json::value request = json::parse(encode_export_request(batches));
  const json::array& resource_spans = request.at("resourceSpans").as_array();
  ASSERT_EQ(resource_spans.size(), 2U);
  EXPECT_EQ(resource_spans[0].at("resource").at("attributes").at(0).at("value").at("stringValue"),
            "order");
  EXPECT_EQ(resource_spans[0].at("scopeSpans").at(0).at("spans").as_array().size(), 2U);
  EXPECT_EQ(resource_spans[1].at("resource").at("attributes").at(0).at("value").at("stringValue"),
            "payment");
}

// Both encodings of these batches, the protobuf one read back into the JSON
// mapping's shape.
std::pair<json::value, json::value> both_encodings(const std::vector<trace::SpanData>& spans,
                                                   const Resource& order, const Resource& payment) {
  std::pair<json::value, json::value> out;
  for (Protocol protocol : {Protocol::kHttpJson, Protocol::kHttpProtobuf}) {
    std::vector<std::string> encoded(spans.size());
    for (size_t i = 0; i < spans.size(); ++i) encode_span(spans[i], encoded[i], protocol);
    const std::vector<ResourceBatch> batches = {{&order, {encoded[0], encoded[1]}},
                                                {&payment, {encoded[2]}}};
    const std::string body = encode_export_request(batches, protocol);
    if (protocol == Protocol::kHttpJson) {
      out.first = testing::without_empty(json::parse(body));
    } else {
      out.second = testing::decode(body);
    }
  }
  return out;
}

TEST(Encoding, ProtobufCarriesWhatJsonCarries) {
  trace::SpanData bare;
  bare.context = context("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
  bare.name = "GET";
  bare.start_unix_ns = 1;
  bare.end_unix_ns = 2;
  trace::SpanData odd = full_span();
  odd.attributes.set_int("negative", -5);
  odd.attributes.set_int("smallest", std::numeric_limits<int64_t>::min());
  odd.attributes.set_text("long", std::string(300, 'x'));
  odd.status = trace::StatusCode::kOk;
  odd.status_message.clear();
  const auto [from_json, from_protobuf] = both_encodings(
      {full_span(), bare, odd}, Resource::make("order", "team=a"), Resource::make("payment"));
  EXPECT_EQ(from_protobuf, from_json)
      << "protobuf: " << json::serialize(from_protobuf) << "\njson: " << json::serialize(from_json);
}

TEST(Encoding, ProtobufRepairsInvalidUtf8) {
  trace::SpanData span = full_span();
  span.name = "bad \xff byte";
  std::string encoded;
  encode_span(span, encoded, Protocol::kHttpProtobuf);
  const Resource resource = Resource::make("order");
  const ResourceBatch batch{&resource, {encoded}};
  const json::object request =
      testing::decode(encode_export_request({&batch, 1}, Protocol::kHttpProtobuf));
  EXPECT_EQ(only_span(request).at("name"), "bad \xef\xbf\xbd byte");
}

// A span recorded in one piece (the HTTP server's) is encoded exactly as
// the same span's SpanData is, framed the same way, whatever its length.
TEST(Encoding, AFinishedSpanIsEncodedAsItsSpanData) {
  trace::SpanContext context;
  context.trace_id = trace::new_trace_id();
  context.span_id = trace::new_span_id();
  context.flags = trace::kFlagSampled | trace::kFlagRandom;
  context.trace_state.set("vendor", "x");
  const trace::AttributeList shared{{"http.request.method", "GET"}, {"url.scheme", "http"}};
  for (const size_t path_size : {1, 100, 20'000}) {
    struct Arg {
      const trace::AttributeList* shared;
      std::string path;
    };
    const Arg arg{&shared, std::string(path_size, 'p') + "\xff"};
    trace::FinishedSpan span{
        .context = &context,
        .parent_span_id = trace::new_span_id(),
        .name = "GET /items/{id}",
        .kind = trace::SpanKind::kServer,
        .start_unix_ns = 1'000,
        .end_unix_ns = 2'000,
        .status = trace::StatusCode::kError,
        .attributes =
            [](trace::AttributeWriter& out, const void* a) {
              const auto& what = *static_cast<const Arg*>(a);
              out.set_all(*what.shared);
              out.set_text("url.path", what.path);
              out.set_int("http.response.status_code", 503);
            },
        .arg = &arg,
    };
    ByteBuffer finished;
    ByteBuffer data;
    const size_t header = encode_framed_span_protobuf(span, finished);
    EXPECT_EQ(encode_framed_span_protobuf(span.to_data(), data), header);
    EXPECT_EQ(std::string_view(finished.data(), finished.size()),
              std::string_view(data.data(), data.size()))
        << "path of " << path_size;
    const trace::SpanData decoded = span.to_data();
    EXPECT_EQ(std::get<std::string>(*decoded.attributes.find("url.path")).size(), path_size + 3)
        << "the invalid byte repaired as U+FFFD";
    EXPECT_EQ(std::get<int64_t>(*decoded.attributes.find("http.response.status_code")), 503);
    EXPECT_EQ(decoded.attributes.size(), 4U);
  }
}

TEST(Encoding, ReadsRejectedSpansFromEitherResponse) {
  // ExportTraceServiceResponse { partial_success { rejected_spans: 3, error_message: "x" } }
  const std::string protobuf("\x0a\x05\x08\x03\x12\x01x", 7);
  EXPECT_EQ(rejected_spans(protobuf, Protocol::kHttpProtobuf), 3U);
  EXPECT_EQ(rejected_spans("", Protocol::kHttpProtobuf), 0U);
  EXPECT_EQ(rejected_spans("{}", Protocol::kHttpProtobuf), 0U);  // not protobuf: nothing read
  EXPECT_EQ(rejected_spans(std::string("\x0a\x09\x08", 3), Protocol::kHttpProtobuf), 0U);
  EXPECT_EQ(rejected_spans(R"({"partialSuccess":{"rejectedSpans":"2"}})", Protocol::kHttpJson), 2U);
  EXPECT_EQ(rejected_spans("{}", Protocol::kHttpJson), 0U);
}

TEST(Resource, TakesOtelResourceAttributesButNotTheirServiceName) {
  const Resource resource =
      Resource::make("order", "deployment.environment=staging, service.name=x,bad,team=a%20b");
  std::map<std::string, std::string> values;
  for (const auto& a : resource.attributes)
    values[std::string(a.key.view())] = std::get<std::string>(a.value);
  EXPECT_EQ(values["service.name"], "order");
  EXPECT_EQ(values["deployment.environment"], "staging");
  EXPECT_EQ(values["team"], "a b");
  EXPECT_EQ(values["telemetry.sdk.language"], "cpp");
  EXPECT_FALSE(values.contains("bad"));
}

}  // namespace
}  // namespace seatflow::otlp
