// Seatflow's configuration keys, and the typed settings built from them.
//
// This is the one place keys are declared; docs/configuration.md is their
// reference and `seatflow config` prints the effective values.
//
// Thread safety: values.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/log.hpp"
#include "http/server.hpp"
#include "http/sse.hpp"
#include "services/common/auth.hpp"
#include "services/order/order_service.hpp"
#include "services/payment/payment_service.hpp"
#include "services/reservation/reservation_service.hpp"

namespace seatflow::app {

ConfigSchema config_schema();

struct DatabaseSettings {
  std::string backend;  // "sqlite" or "postgres"
  std::string url;      // PostgreSQL connection string
  int pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds notify_interval{20};  // PostgreSQL: NOTIFYs per channel, at most
  std::chrono::milliseconds sqlite_busy_timeout{5000};
  std::string sqlite_synchronous;
  bool sqlite_exclusive = true;  // the data folder's files belong to this process
};

struct HttpSettings {
  http::ServerOptions server;
  bool access_log = true;
  http::SseOptions sse;
};

// Trace export itself is configured by the standard OTEL_* environment
// variables (see otlp/exporter.hpp).
struct TraceSettings {
  bool conformance_route = false;
};

struct BusSettings {
  std::string backend;  // "embedded" or "kafka"
  std::string kafka_brokers;
  std::chrono::milliseconds kafka_fetch_wait{30};
  int32_t kafka_fetch_min_bytes = 65536;
  int32_t partitions = 8;
  int16_t replication_factor = 1;
  int outbox_batch_size = 1000;
  std::chrono::milliseconds outbox_poll_interval{1000};
  std::chrono::milliseconds outbox_lease{10000};
  std::chrono::milliseconds outbox_linger{5};
  int inbox_max_attempts = 5;
  std::chrono::milliseconds inbox_retention{std::chrono::hours(24 * 7)};
};

struct UiSettings {
  std::string dir;         // empty: found beside the binary or in ./web/dist
  std::string jaeger_url;  // empty: trace ids are shown without a link
};

struct Settings {
  std::string data_dir;
  log::LogSettings log;
  std::string cpu_scheduling = "auto";  // process.cpu_scheduling: auto, batch or unchanged
  DatabaseSettings database;
  HttpSettings http;
  TraceSettings trace;
  BusSettings bus;
  services::AuthOptions auth;
  reservation::ReservationOptions reservation;
  payment::GatewayOptions payment;
  order::OrderOptions order;  // owner is set by the process
  bool demo_event = true;
  UiSettings ui;
  // What the configuration sets that this build ignores, one line each, for
  // the process to log once logging is set up.
  std::vector<std::string> warnings;
};

// Throws ConfigError for combinations the schema cannot express.
Settings settings_from(const Config& config);

}  // namespace seatflow::app
