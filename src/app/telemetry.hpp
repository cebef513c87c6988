// The process's tracing set-up: spans sampled by OTEL_TRACES_SAMPLER, trace
// ids in every log line, and spans exported over OTLP when the OTEL_*
// environment names a receiver (see otlp/exporter.hpp).
//
// Thread safety: tracer() may be used from any thread; shutdown() once, at
// the end, after the servers stopped.
#pragma once

#include <memory>
#include <string_view>

#include "otlp/exporter.hpp"
#include "trace/span.hpp"

namespace seatflow::metrics {
class Registry;
}

namespace seatflow::app {

// service.name of `seatflow up` unless OTEL_SERVICE_NAME says otherwise.
inline constexpr std::string_view kEmbeddedServiceName = "seatflow";

class Telemetry {
 public:
  // Logs a warning for each OTEL_* value it cannot use.
  Telemetry(std::string_view default_service_name, metrics::Registry& registry);
  ~Telemetry();  // shutdown()
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  const trace::Tracer& tracer() const { return *tracer_; }

  // Exports the spans still queued, for up to the exporter's timeout.
  void shutdown();

 private:
  std::unique_ptr<otlp::OtlpExporter> exporter_;  // null when exporting is off
  std::unique_ptr<trace::Tracer> tracer_;
};

}  // namespace seatflow::app
