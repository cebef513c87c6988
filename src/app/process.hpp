// The parts `seatflow up` and `seatflow serve` build a process from: signal
// handling, the outbox relays, the HTTP server with its middleware, and the
// shared objects every service of the process is given.
//
// Thread safety: call from the main thread while the process starts or stops.
#pragma once

#include <csignal>
#include <memory>
#include <string>

#include "app/settings.hpp"
#include "bus/bus.hpp"
#include "bus/outbox.hpp"
#include "core/status.hpp"
#include "db/database.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "metrics/registry.hpp"
#include "services/common/context.hpp"
#include "services/reservation/reservation_service.hpp"
#include "trace/span.hpp"

namespace seatflow::app {

// Blocks SIGINT and SIGTERM in this thread and every thread it starts later,
// so that wait_for_shutdown() can take them instead of them interrupting work.
sigset_t block_shutdown_signals();

// With `policy` "batch" (process.cpu_scheduling, or what its "auto" means
// for the command), puts the calling thread, and so every thread it starts
// later, under SCHED_BATCH; "unchanged" leaves the policy the process was
// started with. Call it before the process starts any thread. A policy the
// system refuses is logged, and the process goes on under the one it has.
void apply_cpu_scheduling(const std::string& policy);

// Waits for SIGINT or SIGTERM (blocked by block_shutdown_signals) and logs it.
void wait_for_shutdown(const sigset_t& signals);

// Starts the outbox relay of `service`'s database; `owner` names this
// process's lease on the outbox lanes.
Result<std::unique_ptr<bus::OutboxRelay>> start_relay(const std::string& service, db::Database& db,
                                                      bus::Bus& bus, const trace::Tracer& tracer,
                                                      const BusSettings& settings,
                                                      std::string owner,
                                                      metrics::Registry& registry);

// What a server hands every request to: metrics, tracing and (with
// http.access_log) the access log around the router.
http::Handler server_entry(const Settings& settings, http::Router& router,
                           const trace::Tracer& tracer, metrics::Registry& registry);

// The HTTP server with that entry, started.
Result<std::unique_ptr<http::HttpServer>> start_http_server(const Settings& settings,
                                                            http::Handler entry,
                                                            metrics::Registry& registry);

// Brings the service's schema up to date (migrate) or checks that it is
// (validate, as a service that does not own its schema does); logs what was
// applied.
Status prepare_schema(db::Database& db, std::string_view service, bool migrate);

// What a service of this process is given: its database, and the process's
// bus, tracer, metrics, SSE hub and auth; `instance` names the process.
services::ServiceContext service_context(db::Database& db, bus::Bus& bus, const Settings& settings,
                                         const trace::Tracer& tracer, metrics::Registry& registry,
                                         http::SseHub& hub, const services::Auth& auth,
                                         std::string instance);

// Creates the demo event (about 2,000 seats, a month from now) when no event
// is on sale (none yet, or every one has started); logs a warning when it
// cannot.
void create_demo_event_if_none_on_sale(reservation::ReservationService& reservation);

}  // namespace seatflow::app
