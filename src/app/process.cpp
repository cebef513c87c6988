#include "app/process.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "app/services.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "db/migrations.hpp"
#include "http/middleware.hpp"
#include "http/tracing.hpp"

namespace seatflow::app {

sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// A server's threads hand work to each other all the time: a request's
// transaction to the thread committing for its database, a saga step to the
// worker, an outbox row to the relay, a message to a consumer. Under the
// default policy the thread woken takes the CPU from the one running, if
// that one has run a little longer: in the embedded flash sale, with every
// core busy, a thread was cut off so about once per purchase, often in the
// middle of a batch. Under SCHED_BATCH a thread woken up waits for the
// running one to block or to use up its turn (a few milliseconds), then
// finds more work waiting. Its turns are as long and as fair as before;
// only wake-ups lose their precedence. See docs/architecture.md for the
// figures.
void apply_cpu_scheduling(const std::string& policy) {
  if (policy != "batch" || ::sched_getscheduler(0) == SCHED_BATCH) return;
  const sched_param param{};  // SCHED_BATCH takes priority 0
  if (::sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
    log::warn("cannot set the CPU scheduling policy {}: {}", policy, std::strerror(errno));
  }
}

void wait_for_shutdown(const sigset_t& signals) {
  int signal = 0;
  sigwait(&signals, &signal);
  log::info("received {}, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
}

Result<std::unique_ptr<bus::OutboxRelay>> start_relay(const std::string& service, db::Database& db,
                                                      bus::Bus& bus, const trace::Tracer& tracer,
                                                      const BusSettings& settings,
                                                      std::string owner,
                                                      metrics::Registry& registry) {
  auto relay = std::make_unique<bus::OutboxRelay>(
      service, db, bus, bus.system(), tracer, SystemClock::instance(),
      bus::RelayOptions{.owner = std::move(owner),
                        .batch_size = settings.outbox_batch_size,
                        .poll_interval = settings.outbox_poll_interval,
                        .lease = settings.outbox_lease,
                        .linger = settings.outbox_linger},
      &registry);
  if (auto st = relay->start(); !st) {
    return fail(st.error().with_context(service + " outbox relay"));
  }
  return relay;
}

http::Handler server_entry(const Settings& settings, http::Router& router,
                           const trace::Tracer& tracer, metrics::Registry& registry) {
  std::vector<std::shared_ptr<http::Middleware>> middleware = {http::metrics_middleware(registry),
                                                               http::tracing_middleware(tracer)};
  if (settings.http.access_log) middleware.push_back(http::access_log_middleware());
  return http::chain(std::move(middleware), [&router](http::Request& r, http::Responder responder) {
    router.dispatch(r, std::move(responder));
  });
}

namespace {

// Every connection is a file descriptor, and the soft limit on them is often
// 1,024: it is raised to the hard limit, as Go's runtime and nginx's
// worker_rlimit_nofile do. A limit still under http.max_connections is
// reported; past it, new connections wait until one closes.
void raise_open_files_limit(size_t max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < max_connections) {
    log::warn(
        "this process may open {} files (RLIMIT_NOFILE), fewer than http.max_connections ({}): "
        "past about that many connections new ones wait until one closes; raise the limit "
        "(ulimit -n, LimitNOFILE=) or lower http.max_connections",
        limit.rlim_cur, max_connections);
  }
}

}  // namespace

Result<std::unique_ptr<http::HttpServer>> start_http_server(const Settings& settings,
                                                            http::Handler entry,
                                                            metrics::Registry& registry) {
  raise_open_files_limit(settings.http.server.max_connections);
  auto server =
      std::make_unique<http::HttpServer>(settings.http.server, std::move(entry), registry);
  if (auto started = server->start(); !started) return fail(started.error());
  return server;
}

Status prepare_schema(db::Database& db, std::string_view service, bool migrate) {
  const ServiceModule* module = find_service(service);
  if (module == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "unknown service '" + std::string(service) + "'");
  }
  auto migrations = db::select_migrations(migration_files(*module), db.dialect());
  if (!migrations) return fail(migrations.error());
  db::Migrator migrator(db, std::string(service), std::move(*migrations), SystemClock::instance());
  if (!migrate) return migrator.validate();
  auto applied = migrator.migrate();
  if (!applied) return fail(applied.error());
  for (const auto& m : *applied) {
    log::info("{}: applied migration V{} ({})", service, m.version, m.description);
  }
  return ok();
}

services::ServiceContext service_context(db::Database& db, bus::Bus& bus, const Settings& settings,
                                         const trace::Tracer& tracer, metrics::Registry& registry,
                                         http::SseHub& hub, const services::Auth& auth,
                                         std::string instance) {
  return services::ServiceContext{.db = db,
                                  .subscriber = bus,
                                  .bus_system = std::string(bus.system()),
                                  .tracer = tracer,
                                  .clock = SystemClock::instance(),
                                  .registry = registry,
                                  .hub = hub,
                                  .auth = auth,
                                  .inbox = {.max_attempts = settings.bus.inbox_max_attempts,
                                            .retention = settings.bus.inbox_retention},
                                  .instance = std::move(instance)};
}

void create_demo_event_if_none_on_sale(reservation::ReservationService& reservation) {
  auto events = reservation.events_on_sale();
  if (!events || !events->empty()) return;
  const int64_t in_a_month = SystemClock::instance().now_unix_ms() + int64_t{30} * 86'400'000;
  auto created = reservation.create_event(reservation::demo_event_spec(in_a_month));
  if (!created) log::warn("cannot create the demo event: {}", created.error().message());
}

}  // namespace seatflow::app
