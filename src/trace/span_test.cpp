#include "trace/span.hpp"

#include <cstdlib>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/log.hpp"

namespace seatflow::trace {
namespace {

class Collector : public SpanProcessor {
 public:
  void on_end(SpanData&& span) override { spans.push_back(std::move(span)); }
  std::vector<SpanData> spans;
};

Sampler always_on() { return {Sampler::Root::kAlwaysOn, 1.0, true}; }

TEST(Tracer, RootSpanStartsATraceWithTheRandomFlag) {
  Collector collector;
  Tracer tracer(always_on(), &collector);
  {
    Span span = tracer.start_span("root", {.kind = SpanKind::kServer});
    EXPECT_TRUE(span.recording());
    EXPECT_TRUE(span.context().valid());
    EXPECT_TRUE(span.context().sampled());
    EXPECT_EQ(span.context().flags & kFlagRandom, kFlagRandom);
  }
  ASSERT_EQ(collector.spans.size(), 1u);
  const SpanData& d = collector.spans[0];
  EXPECT_EQ(d.name, "root");
  EXPECT_EQ(d.kind, SpanKind::kServer);
  EXPECT_FALSE(d.parent_span_id.valid());
  EXPECT_GE(d.end_unix_ns, d.start_unix_ns);
}

TEST(Tracer, StartAndEndAtTimesTheCallerRead) {
  Collector collector;
  Tracer tracer(always_on(), &collector);
  tracer.start_span("timed", {.start_unix_ns = 1'000}).end(5'000);
  // An end before the start (the system clock stepped back) is the start.
  tracer.start_span("stepped back", {.start_unix_ns = 9'000}).end(8'000);
  ASSERT_EQ(collector.spans.size(), 2u);
  EXPECT_EQ(collector.spans[0].start_unix_ns, 1'000);
  EXPECT_EQ(collector.spans[0].end_unix_ns, 5'000);
  EXPECT_EQ(collector.spans[1].start_unix_ns, 9'000);
  EXPECT_EQ(collector.spans[1].end_unix_ns, 9'000);
}

TEST(Clock, ASteadyReadingBecomesTheSystemTimeOfThatMoment) {
  const int64_t before = now_unix_ns();
  const auto at = std::chrono::steady_clock::now();
  const int64_t after = now_unix_ns();
  const int64_t t = unix_ns(at);
  // Within a millisecond: the offset between the clocks may have been
  // taken a while before (and the system clock slewed since).
  EXPECT_GE(t, before - 1'000'000);
  EXPECT_LE(t, after + 1'000'000);
  // Later steady readings are later times, by as much (give or take a
  // fresh offset, should the last be a second old by then).
  EXPECT_NEAR(unix_ns(at + std::chrono::milliseconds(3)) - t, 3'000'000, 100'000);
}

TEST(Tracer, ChildOfTheCurrentContext) {
  Collector collector;
  Tracer tracer(always_on(), &collector);
  Span parent = tracer.start_span("parent");
  {
    Scope scope(parent);
    ASSERT_NE(current_context(), nullptr);
    Span child = tracer.start_span("child", {.kind = SpanKind::kClient});
    EXPECT_EQ(child.context().trace_id, parent.context().trace_id);
    EXPECT_NE(child.context().span_id, parent.context().span_id);
    Span detached = tracer.start_span("new trace", {.root = true});
    EXPECT_NE(detached.context().trace_id, parent.context().trace_id);
  }
  EXPECT_EQ(current_context(), nullptr) << "the scope restores what was current";
  parent.end();
  ASSERT_EQ(collector.spans.size(), 3u);
  EXPECT_EQ(collector.spans[1].name, "child");
  EXPECT_EQ(collector.spans[1].parent_span_id, parent.context().span_id);
}

TEST(Tracer, ExplicitParentWinsAndRemoteStateIsKept) {
  Collector collector;
  Tracer tracer(always_on(), &collector);
  auto remote = extract({"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, {"vendor=x"});
  ASSERT_TRUE(remote);
  Span other = tracer.start_span("other");
  Scope scope(other);
  Span span = tracer.start_span("server", {.kind = SpanKind::kServer, .parent = remote});
  EXPECT_EQ(span.context().trace_id.hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(span.context().trace_state.format(), "vendor=x");
  EXPECT_EQ(span.context().flags & kFlagRandom, 0) << "the remote trace id was not marked random";
  span.end();
  EXPECT_EQ(collector.spans.back().parent_span_id.hex(), "b7ad6b7169203331");
}

TEST(Tracer, UnsampledSpansPropagateButRecordNothing) {
  Collector collector;
  Tracer tracer({Sampler::Root::kAlwaysOff, 0.0, true}, &collector);
  {
    Span span = tracer.start_span("dropped");
    EXPECT_FALSE(span.recording());
    EXPECT_TRUE(span.context().valid());
    EXPECT_FALSE(span.context().sampled());
    span.set_attribute("k", "v").add_event("e").set_status(StatusCode::kError, "x");
  }
  EXPECT_TRUE(collector.spans.empty());
}

TEST(Tracer, WithoutAProcessorSpansPropagateButDoNotRecord) {
  Tracer tracer(always_on(), nullptr);
  Span span = tracer.start_span("op");
  EXPECT_FALSE(span.recording());
  EXPECT_TRUE(span.context().valid());
  EXPECT_TRUE(span.context().sampled()) << "the sampling decision still travels";
}

TEST(Tracer, ParentBasedFollowsTheParentsDecision) {
  Collector collector;
  Tracer tracer(always_on(), &collector);
  auto unsampled = extract({"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}, {});
  Span child = tracer.start_span("child", {.parent = unsampled});
  EXPECT_FALSE(child.recording());
  Tracer off({Sampler::Root::kAlwaysOff, 0.0, true}, &collector);
  auto sampled = extract({"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, {});
  EXPECT_TRUE(off.start_span("child", {.parent = sampled}).recording());
}

TEST(Tracer, RatioSamplerKeepsAboutTheRatio) {
  Tracer tracer({Sampler::Root::kRatio, 0.25, true}, nullptr);
  int sampled = 0;
  for (int i = 0; i < 20'000; ++i) sampled += tracer.start_span("s").context().sampled() ? 1 : 0;
  EXPECT_NEAR(sampled / 20'000.0, 0.25, 0.02);
}

TEST(Tracer, SamplerFromEnvironment) {
  ::setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", 1);
  ::setenv("OTEL_TRACES_SAMPLER_ARG", "0.1", 1);
  Sampler s = Sampler::from_environment();
  EXPECT_TRUE(s.parent_based);
  EXPECT_EQ(s.root, Sampler::Root::kRatio);
  EXPECT_DOUBLE_EQ(s.ratio, 0.1);
  ::setenv("OTEL_TRACES_SAMPLER", "sometimes", 1);
  std::string warning;
  s = Sampler::from_environment(&warning);
  EXPECT_EQ(s.root, Sampler::Root::kAlwaysOn);
  EXPECT_NE(warning.find("unknown OTEL_TRACES_SAMPLER 'sometimes'"), std::string::npos);
  ::unsetenv("OTEL_TRACES_SAMPLER");
  ::unsetenv("OTEL_TRACES_SAMPLER_ARG");
  s = Sampler::from_environment();
  EXPECT_TRUE(s.parent_based);
  EXPECT_EQ(s.root, Sampler::Root::kAlwaysOn);
}

TEST(Span, AttributesEventsLinksAndStatus) {
  Collector collector;
  Tracer tracer(always_on(), &collector);
  auto linked = extract({"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, {});
  {
    Span span = tracer.start_span("op", {.attributes = {{"a", int64_t{1}}}});
    span.set_attribute("s", "text").set_attribute("i", 42).set_attribute("d", 2.5);
    span.set_attribute("b", true).set_attribute("a", int64_t{2});
    span.add_event("retry", {{"attempt", int64_t{2}}});
    span.add_link(*linked);
    span.set_status(StatusCode::kError, "declined");
    span.set_status(StatusCode::kUnset);  // cannot downgrade
  }
  const SpanData& d = collector.spans.at(0);
  // "a", set again, keeps one entry and comes last.
  const auto attributes = d.attributes.decode();
  ASSERT_EQ(attributes.size(), 5u);
  EXPECT_EQ(attributes[0].key, "s");
  EXPECT_EQ(std::get<std::string>(attributes[0].value), "text");
  EXPECT_EQ(std::get<int64_t>(attributes[1].value), 42);
  EXPECT_EQ(std::get<double>(attributes[2].value), 2.5);
  EXPECT_TRUE(std::get<bool>(attributes[3].value));
  EXPECT_EQ(attributes[4].key, "a");
  EXPECT_EQ(std::get<int64_t>(attributes[4].value), 2);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].name, "retry");
  ASSERT_EQ(d.links.size(), 1u);
  EXPECT_EQ(d.links[0].context.span_id.hex(), "b7ad6b7169203331");
  EXPECT_EQ(d.status, StatusCode::kError);
  EXPECT_EQ(d.status_message, "declined");
}

TEST(Context, BindContextCarriesItToAnotherThread) {
  Tracer tracer(always_on(), nullptr);
  Span span = tracer.start_span("op");
  std::function<std::string()> task;
  {
    Scope scope(span);
    task = bind_context([] {
      const SpanContext* c = current_context();
      return c != nullptr ? c->span_id.hex() : std::string("none");
    });
  }
  std::string seen;
  std::thread([&] { seen = task(); }).join();
  EXPECT_EQ(seen, span.context().span_id.hex());
}

TEST(Context, LogLinesCarryTheCurrentIds) {
  std::vector<std::string> lines;
  log::set_sink_for_testing(
      [](std::string_view line, void* out) {
        static_cast<std::vector<std::string>*>(out)->emplace_back(line);
      },
      &lines);
  install_log_context();
  Tracer tracer(always_on(), nullptr);
  Span span = tracer.start_span("op");
  {
    Scope scope(span);
    log::info("inside");
  }
  log::info("outside");
  log::set_sink_for_testing(nullptr, nullptr);
  log::set_trace_ids_provider(nullptr);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("trace=" + span.context().trace_id.hex() +
                          " span=" + span.context().span_id.hex()),
            std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[1].find("trace="), std::string::npos);
}

TEST(Ids, AreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    TraceId t = new_trace_id();
    EXPECT_TRUE(t.valid());
    seen.insert(t.hex());
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace seatflow::trace
