// What a service is given by the process that runs it: its ports and the
// shared parts of the process. The same services run embedded (`seatflow
// up`, every service in one process) and distributed (`seatflow serve`).
//
// Thread safety: references to objects that are themselves thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "bus/bus.hpp"
#include "bus/inbox.hpp"
#include "core/clock.hpp"
#include "db/database.hpp"
#include "http/sse.hpp"
#include "metrics/registry.hpp"
#include "services/common/auth.hpp"
#include "trace/span.hpp"

namespace seatflow::services {

struct ServiceContext {
  db::Database& db;  // the service's own schema
  bus::Subscriber& subscriber;
  std::string bus_system;  // messaging.system of its spans: "embedded" or "kafka"
  const trace::Tracer& tracer;
  const Clock& clock;
  metrics::Registry& registry;
  http::SseHub& hub;  // live updates to browsers connected to this process
  const Auth& auth;
  bus::InboxOptions inbox;  // attempts and retention; inbox_for() names the consumer
  // Unique per process: live-update feeds consume with a group of their own
  // ("<service>.live.<instance>") so every process sees every change.
  std::string instance;

  // The inbox settings for `consumer` (a service's own consumer group).
  bus::InboxOptions inbox_for(std::string_view consumer) const {
    bus::InboxOptions options = inbox;
    options.consumer = std::string(consumer);
    return options;
  }
};

// The SSE topic of an event's seat changes, and of an order's status.
std::string seat_stream_topic(std::string_view event_id);
std::string order_stream_topic(std::string_view order_id);

}  // namespace seatflow::services
