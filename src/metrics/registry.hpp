// The process's metrics registry and its Prometheus text exposition.
//
// Components declare their metrics once, in a struct built from the
// registry at construction (see HttpServerMetrics in http/server.cpp), and
// keep pointers to the prometheus-cpp metric objects, which are safe to
// update from any thread.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace seatflow::metrics {

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  prometheus::Registry& prometheus() { return *registry_; }

  // Every metric in the Prometheus text format, version 0.0.4.
  std::string serialize() const;

  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

}  // namespace seatflow::metrics
