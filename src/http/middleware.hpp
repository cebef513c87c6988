// The standard middleware of every Seatflow server, outermost first:
// metrics (request count, errors and latency per route template), then the
// trace context (http/tracing.hpp), then the access log, so that its lines
// carry the request's trace ids; and the observability routes (/metrics,
// /health/live, /health/ready).
//
// Thread safety: middleware objects are shared by all worker threads; their
// state is atomic or thread-local.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "http/router.hpp"

namespace seatflow::metrics {
class Registry;
}

namespace seatflow::http {

// seatflow_http_requests_total{method,route,status},
// seatflow_http_request_errors_total{method,route,class} (4xx, 5xx) and
// seatflow_http_request_duration_seconds{method,route}. `route` is the
// template ("/api/orders/{id}"), never the raw path.
std::shared_ptr<Middleware> metrics_middleware(metrics::Registry& registry);

// One line per request at info level: method, target, status, duration, bytes.
std::shared_ptr<Middleware> access_log_middleware();

// Named readiness checks of a service's dependencies (a database ping, ...).
class HealthChecks {
 public:
  void add(std::string name, std::function<Status()> check);
  // Runs every check; returns the failures as (name, message).
  std::vector<std::pair<std::string, std::string>> failures() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::function<Status()>>> checks_;  // guarded by mu_
};

// GET /metrics, GET /health/live (always 200 while the process serves) and
// GET /health/ready (200, or 503 naming each failing check).
void add_observability_routes(Router& router, metrics::Registry& registry,
                              const std::shared_ptr<HealthChecks>& health);

}  // namespace seatflow::http
