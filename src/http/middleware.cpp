#include "http/middleware.hpp"

#include <chrono>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "core/log.hpp"
#include "metrics/registry.hpp"

namespace seatflow::http {
namespace {

class MetricsMiddleware final : public Middleware {
 public:
  explicit MetricsMiddleware(prometheus::Registry& r)
      : requests_(prometheus::BuildCounter()
                      .Name("seatflow_http_requests_total")
                      .Help("HTTP requests served, by method, route template and status")
                      .Register(r)),
        errors_(prometheus::BuildCounter()
                    .Name("seatflow_http_request_errors_total")
                    .Help("HTTP requests answered with 4xx or 5xx, by class")
                    .Register(r)),
        durations_(prometheus::BuildHistogram()
                       .Name("seatflow_http_request_duration_seconds")
                       .Help("Time from the parsed request to the response, by route template")
                       .Register(r)) {}

  void handle(Request& request, Responder responder, const Handler& next) override {
    const auto started = received_at(request);
    responder.on_send([this, started, &request](Response& response) {
      const double seconds = std::chrono::duration<double>(response.answered_at - started).count();
      Series& s = series(request.method, request.route, response.status);
      s.requests->Increment();
      if (s.errors != nullptr) s.errors->Increment();
      s.duration->Observe(seconds);
    });
    next(request, std::move(responder));
  }

 private:
  struct Series {
    prometheus::Counter* requests = nullptr;
    prometheus::Counter* errors = nullptr;
    prometheus::Histogram* duration = nullptr;
  };

  // prometheus-cpp looks series up under a lock; each thread keeps the
  // pointers it has seen so the hot path is one hash lookup.
  // Route templates are stable strings owned by the Router, so their address
  // identifies them.
  struct Key {
    const char* route;
    Method method;
    int status;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<const void*>()(k.route) ^ (static_cast<size_t>(k.status) << 8) ^
             static_cast<size_t>(k.method);
    }
  };

  Series& series(Method method, std::string_view route, int status) {
    thread_local std::unordered_map<Key, Series, KeyHash> cache;
    const Key key{route.data(), method, status};
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;

    std::lock_guard lock(mu_);
    const std::string m(method_name(method));
    const std::string route_label(route);
    Series s;
    s.requests =
        &requests_.Add({{"method", m}, {"route", route_label}, {"status", std::to_string(status)}});
    if (status >= 400) {
      s.errors = &errors_.Add(
          {{"method", m}, {"route", route_label}, {"class", status >= 500 ? "5xx" : "4xx"}});
    }
    s.duration = &durations_.Add(
        {{"method", m}, {"route", route_label}},
        prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    return cache.emplace(key, s).first->second;
  }

  std::mutex mu_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Histogram>& durations_;
};

class AccessLogMiddleware final : public Middleware {
 public:
  void handle(Request& request, Responder responder, const Handler& next) override {
    if (!log::enabled(log::Level::kInfo)) {
      next(request, std::move(responder));
      return;
    }
    const auto started = received_at(request);
    responder.on_send([started, &request](Response& response) {
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(response.answered_at - started)
              .count();
      log::write(log::Level::kInfo, "http request",
                 {{"method", std::string(method_name(request.method))},
                  {"target", redact_target(request.target)},
                  {"status", std::to_string(response.status)},
                  {"duration_us", std::to_string(us)},
                  {"bytes", std::to_string(response.body.size())},
                  {"remote", request.remote_address}});
    });
    next(request, std::move(responder));
  }
};

}  // namespace

std::shared_ptr<Middleware> metrics_middleware(metrics::Registry& registry) {
  return std::make_shared<MetricsMiddleware>(registry.prometheus());
}

std::shared_ptr<Middleware> access_log_middleware() {
  return std::make_shared<AccessLogMiddleware>();
}

void HealthChecks::add(std::string name, std::function<Status()> check) {
  std::lock_guard lock(mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

std::vector<std::pair<std::string, std::string>> HealthChecks::failures() const {
  std::vector<std::pair<std::string, std::function<Status()>>> checks;
  {
    std::lock_guard lock(mu_);
    checks = checks_;
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, check] : checks) {
    if (auto st = check(); !st) out.emplace_back(name, st.error().message());
  }
  return out;
}

void add_observability_routes(Router& router, metrics::Registry& registry,
                              const std::shared_ptr<HealthChecks>& health) {
  router.add_sync(Method::kGet, "/metrics", [&registry](const Request&) {
    return Response::text(200, registry.serialize(), metrics::Registry::kContentType);
  });
  router.add_sync(Method::kGet, "/health/live",
                  [](const Request&) { return Response::json(200, R"({"status":"live"})"); });
  router.add_sync(Method::kGet, "/health/ready", [health](const Request&) {
    const auto failures = health->failures();
    if (failures.empty()) return Response::json(200, R"({"status":"ready"})");
    std::string detail = "not ready:";
    for (const auto& [name, message] : failures) {
      detail.append(" ").append(name).append(" (").append(message).append(");");
    }
    detail.pop_back();
    return problem(503, detail);
  });
}

}  // namespace seatflow::http
