// The cost of tracing on the hot path: a span started and ended, with the
// attributes an HTTP server span carries, handed to a processor; the
// exporter's side, encoding spans as OTLP protobuf or JSON; both together;
// and the server span as the HTTP server records it, in one piece straight
// into the exporter's queue, which is what a traced request pays on its
// own thread.
#include <benchmark/benchmark.h>

#include "otlp/encoding.hpp"
#include "trace/span.hpp"

namespace {

using seatflow::trace::Sampler;
using seatflow::trace::SpanData;
using seatflow::trace::SpanKind;
using seatflow::trace::SpanProcessor;
using seatflow::trace::Tracer;

// Reads the ended span and lets it go, as the exporter does once it has
// encoded it (the span's data then returns to the tracer's pool).
class KeepLast : public SpanProcessor {
 public:
  void on_end(SpanData&& span) override { benchmark::DoNotOptimize(span.attributes.wire().data()); }
};

// Encodes the ended span as the exporter does, into a reused buffer.
class Encode : public SpanProcessor {
 public:
  void on_end(SpanData&& span) override {
    out_.clear();
    seatflow::otlp::encode_span(span, out_, seatflow::otlp::Protocol::kHttpProtobuf);
    benchmark::DoNotOptimize(out_.data());
  }

 private:
  std::string out_;
};

void bm_span_start_end(benchmark::State& state) {
  KeepLast processor;
  Tracer tracer({Sampler::Root::kAlwaysOn, 1.0, true}, &processor);
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto span = tracer.start_span("GET /api/orders/{id}", {.kind = SpanKind::kServer});
    span.set_attribute("http.request.method", "GET");
    span.set_attribute("http.route", "/api/orders/{id}");
    span.set_attribute("http.response.status_code", 200);
    span.end();
  }
}
BENCHMARK(bm_span_start_end);

void bm_span_start_end_unsampled(benchmark::State& state) {
  Tracer tracer({Sampler::Root::kAlwaysOff, 0.0, true}, nullptr);
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto span = tracer.start_span("GET /api/orders/{id}", {.kind = SpanKind::kServer});
    span.set_attribute("http.response.status_code", 200);
    span.end();
  }
}
BENCHMARK(bm_span_start_end_unsampled);

// What every GET has in common, encoded once, as http::tracing_middleware does.
const seatflow::trace::AttributeList& get_attributes() {
  static const seatflow::trace::AttributeList kAttributes{
      {"http.request.method", "GET"}, {"url.scheme", "http"}, {"network.protocol.version", "1.1"}};
  return kAttributes;
}

// Everything http::tracing_middleware records for a request.
void record_server_span(const Tracer& tracer) {
  auto span = tracer.start_span("GET", {.kind = SpanKind::kServer});
  span.set_attributes(get_attributes());
  span.set_attribute("url.path", "/api/events/42/seats");
  span.set_attribute("client.address", "127.0.0.1");
  span.set_attribute("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)");
  span.update_name("GET /api/events/{id}/seats");
  span.set_attribute("http.route", "/api/events/{id}/seats");
  span.set_attribute("http.response.status_code", 200);
  span.end();
}

void bm_server_span(benchmark::State& state) {
  KeepLast processor;
  Tracer tracer({Sampler::Root::kAlwaysOn, 1.0, true}, &processor);
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    record_server_span(tracer);
  }
}
BENCHMARK(bm_server_span);

// The same span encoded when it ends: all a traced request pays on its thread.
void bm_server_span_encoded(benchmark::State& state) {
  Encode processor;
  Tracer tracer({Sampler::Root::kAlwaysOn, 1.0, true}, &processor);
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    record_server_span(tracer);
  }
}
BENCHMARK(bm_server_span_encoded);

// The server span as http::tracing_middleware records it: a context from
// the tracer, then the whole span in one piece (trace::FinishedSpan),
// encoded into the exporter's queue as the exporter does, attributes
// included. Times come from the server's own clock readings, so none are
// read here.
class EncodeFinished : public SpanProcessor {
 public:
  void on_end(SpanData&& /*span*/) override {}
  void on_finished(const seatflow::trace::FinishedSpan& span) override {
    if (queue_.size() > (1 << 20)) queue_.clear();
    seatflow::otlp::encode_framed_span_protobuf(span, queue_);
    benchmark::DoNotOptimize(queue_.data());
  }

 private:
  seatflow::ByteBuffer queue_;
};

void bm_server_span_finished(benchmark::State& state) {
  EncodeFinished processor;
  Tracer tracer({Sampler::Root::kAlwaysOn, 1.0, true}, &processor);
  const std::string path = "/api/events/42/seats";
  const std::string client = "127.0.0.1";
  const std::string agent = "Mozilla/5.0 (X11; Linux x86_64)";
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    seatflow::trace::SpanId parent;
    const auto context = tracer.start_context({.kind = SpanKind::kServer, .root = true}, &parent);
    const std::string* strings[] = {&path, &client, &agent};
    tracer.finish({
        .context = &context,
        .parent_span_id = parent,
        .name = "GET /api/events/{id}/seats",
        .kind = SpanKind::kServer,
        .start_unix_ns = 1'000,
        .end_unix_ns = 2'000,
        .attributes =
            [](seatflow::trace::AttributeWriter& out, const void* arg) {
              const auto* s = static_cast<const std::string* const*>(arg);
              out.set_all(get_attributes());
              out.set_text("url.path", *s[0]);
              out.set_text("client.address", *s[1]);
              out.set_text("user_agent.original", *s[2]);
              out.set_text("http.route", "/api/events/{id}/seats");
              out.set_int("http.response.status_code", 200);
            },
        .arg = strings,
    });
  }
}
BENCHMARK(bm_server_span_finished);

class Collect : public SpanProcessor {
 public:
  void on_end(SpanData&& span) override { spans.push_back(std::move(span)); }
  std::vector<SpanData> spans;
};

// A server span encoded as the exporter does when it ends: OTLP protobuf
// (the default, argument 0) or JSON (1).
void bm_encode_span(benchmark::State& state) {
  const auto protocol = state.range(0) == 0 ? seatflow::otlp::Protocol::kHttpProtobuf
                                            : seatflow::otlp::Protocol::kHttpJson;
  Collect collect;
  Tracer tracer({Sampler::Root::kAlwaysOn, 1.0, true}, &collect);
  record_server_span(tracer);
  std::string out;
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    out.clear();
    seatflow::otlp::encode_span(collect.spans[0], out, protocol);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes_per_span"] = static_cast<double>(out.size());
}
BENCHMARK(bm_encode_span)->ArgName("json")->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
