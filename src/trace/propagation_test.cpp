#include "trace/propagation.hpp"

#include <gtest/gtest.h>

#include "trace/span.hpp"

namespace seatflow::trace {
namespace {

TEST(Propagation, MessageHeadersAreReplacedNeverAppended) {
  auto context = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ASSERT_TRUE(context);
  context->trace_state.set("seatflow", "1");
  HeaderList headers = {{"Traceparent", "00-11111111111111111111111111111111-2222222222222222-01"},
                        {"content-type", "application/json"},
                        {"tracestate", "old=1"}};
  inject(*context, headers);
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0].first, "content-type");
  EXPECT_EQ(headers[1].second, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(headers[2].second, "seatflow=1");

  auto back = extract(headers);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->trace_id, context->trace_id);
  EXPECT_EQ(back->span_id, context->span_id);
  EXPECT_EQ(back->trace_state.get("seatflow"), "1");
}

TEST(Propagation, TextCarrierRoundTrips) {
  Tracer tracer({Sampler::Root::kAlwaysOn, 1.0, true}, nullptr);
  Span span = tracer.start_span("saga step");
  const std::string text = to_text(span.context());
  EXPECT_EQ(text, format_traceparent(span.context()));
  auto restored = from_text(text);
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->trace_id, span.context().trace_id);
  EXPECT_EQ(restored->span_id, span.context().span_id);
  EXPECT_TRUE(restored->sampled());
  EXPECT_TRUE(restored->remote);

  auto with_state = from_text("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01;a=1,b=2");
  ASSERT_TRUE(with_state);
  EXPECT_EQ(with_state->trace_state.format(), "a=1,b=2");
  EXPECT_FALSE(from_text(""));
  EXPECT_FALSE(from_text("garbage"));
  EXPECT_EQ(to_text(SpanContext{}), "");
}

}  // namespace
}  // namespace seatflow::trace
