#include "app/telemetry.hpp"

#include <string>
#include <vector>

#include "core/log.hpp"

namespace seatflow::app {

Telemetry::Telemetry(std::string_view default_service_name, metrics::Registry& registry) {
  trace::install_log_context();
  std::string sampler_warning;
  const trace::Sampler sampler = trace::Sampler::from_environment(&sampler_warning);
  if (!sampler_warning.empty()) log::warn("{}", sampler_warning);

  std::vector<std::string> warnings;
  auto options = otlp::ExporterOptions::from_environment(default_service_name, &warnings);
  for (const auto& warning : warnings) log::warn("{}", warning);
  if (options) {
    log::info("exporting traces to {} as service {}", options->endpoint, options->service_name);
    exporter_ = std::make_unique<otlp::OtlpExporter>(std::move(*options), &registry);
  }
  tracer_ = std::make_unique<trace::Tracer>(sampler, exporter_.get());
}

Telemetry::~Telemetry() { shutdown(); }

void Telemetry::shutdown() {
  if (exporter_) exporter_->shutdown(std::chrono::seconds(5));
}

}  // namespace seatflow::app
