// The cost of tracing on the hot path: a span started and ended, with the
// attributes an HTTP server span carries, handed to a processor.
#include <benchmark/benchmark.h>

#include "trace/span.hpp"

namespace {

using seatflow::trace::Sampler;
using seatflow::trace::SpanData;
using seatflow::trace::SpanKind;
using seatflow::trace::SpanProcessor;
using seatflow::trace::Tracer;

// Keeps the last span, as a bounded queue would keep many: the span's data
// is moved, never copied.
class KeepLast : public SpanProcessor {
 public:
  void on_end(SpanData&& span) override { last_ = std::move(span); }

 private:
  SpanData last_;
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

}  // namespace

BENCHMARK_MAIN();
