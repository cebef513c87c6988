// `seatflow serve SERVICE`: one service in this process, on PostgreSQL and
// Kafka, as one replica among any number.
#include <memory>
#include <string>

#include <fmt/core.h>

#include "app/commands.hpp"
#include "app/process.hpp"
#include "app/services.hpp"
#include "app/telemetry.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "http/conformance.hpp"
#include "http/middleware.hpp"
#include "http/sse.hpp"
#include "services/common/auth.hpp"
#include "services/order/order_service.hpp"
#include "services/payment/payment_service.hpp"
#include "services/reservation/reservation_service.hpp"

namespace seatflow::app {
namespace {

// What a replica cannot run without; empty when the settings will do.
std::string serve_settings_problem(const Settings& settings, std::string_view service) {
  if (settings.database.backend != "postgres" || settings.database.url.empty()) {
    return "`serve` runs on PostgreSQL: set database.backend = \"postgres\" and database.url "
           "(`seatflow up` is the embedded mode, on SQLite)";
  }
  if (settings.bus.backend != "kafka" || settings.bus.kafka_brokers.empty()) {
    return "`serve` runs on Kafka: set bus.backend = \"kafka\" and bus.kafka_brokers";
  }
  if (settings.auth.session_secret.empty()) {
    return "set auth.session_secret, the same for every replica of every service, so that a "
           "session made by one replica is accepted by the others";
  }
  if (settings.auth.service_token.empty()) {
    return "set auth.service_token, the same for every service: the order service presents it "
           "to reservation and payment";
  }
  if (service == order::kServiceName &&
      (settings.order.reservation_url.empty() || settings.order.payment_url.empty())) {
    return "the order service calls the others: set services.reservation_url and "
           "services.payment_url (e.g. the gateway's internal address)";
  }
  return {};
}

}  // namespace

int run_serve(const Settings& settings, std::string_view service) {
  if (find_service(service) == nullptr) {
    fmt::print(stderr, "seatflow: unknown service '{}' (expected reservation, payment or order)\n",
               service);
    return 2;
  }
  if (const std::string problem = serve_settings_problem(settings, service); !problem.empty()) {
    fmt::print(stderr, "seatflow: {}\n", problem);
    return 2;
  }
  // auto: a service's threads wait mostly on PostgreSQL and Kafka, and
  // under batch the distributed flash sale measured slower, its order-to-SOLD
  // p99 seconds long (docs/architecture.md).
  apply_cpu_scheduling(settings.cpu_scheduling == "auto" ? "unchanged" : settings.cpu_scheduling);
  const sigset_t signals = block_shutdown_signals();
  const std::string name(service);
  // This replica's name: its leases on outbox lanes and saga steps, and its
  // own consumer group for the live updates it pushes to its browsers.
  const std::string instance = bus::default_relay_owner();

  // `seatflow migrate` owns the schema; a replica only checks it.
  auto database = open_service_database(settings.database, settings.data_dir, name);
  if (database) {
    if (auto st = prepare_schema(**database, name, /*migrate=*/false); !st) {
      database = fail(st.error());
    }
  }
  if (!database) {
    fmt::print(stderr, "seatflow: {}: {}\n", name, database.error().message());
    return 1;
  }
  db::Database& db = **database;

  metrics::Registry registry;
  Telemetry telemetry("seatflow-" + name, registry);
  const trace::Tracer& tracer = telemetry.tracer();
  db.set_tracer(&tracer, name);

  auto bus = open_bus(settings.bus, settings.database, settings.data_dir, SystemClock::instance());
  if (!bus) {
    fmt::print(stderr, "seatflow: {}\n", bus.error().message());
    return 1;
  }
  auto relay = start_relay(name, db, **bus, tracer, settings.bus, instance, registry);
  if (!relay) {
    fmt::print(stderr, "seatflow: {}\n", relay.error().message());
    return 1;
  }

  http::SseHub hub(settings.http.sse, registry);
  http::Router router;
  auto health = std::make_shared<http::HealthChecks>();
  health->add(name + " database", [&db] { return db.ping(); });
  http::add_observability_routes(router, registry, health);
  http::HttpClient client;
  client.set_tracer(&tracer);
  const services::Auth auth(settings.auth, SystemClock::instance());
  const services::ServiceContext context =
      service_context(db, **bus, settings, tracer, registry, hub, auth, instance);

  std::unique_ptr<reservation::ReservationService> reservation;
  std::unique_ptr<payment::PaymentService> payment;
  std::unique_ptr<order::OrderService> order;
  Status started = ok();
  if (name == reservation::kServiceName) {
    reservation = std::make_unique<reservation::ReservationService>(context, settings.reservation);
    reservation->add_routes(router);
    started = reservation->start();
  } else if (name == payment::kServiceName) {
    payment = std::make_unique<payment::PaymentService>(context, settings.payment);
    payment->add_routes(router);
  } else {
    order::OrderOptions options = settings.order;
    options.owner = instance;
    order = std::make_unique<order::OrderService>(context, client, options);
    order->add_routes(router);
    started = order->start();
  }
  if (!started) {
    fmt::print(stderr, "seatflow: {}: {}\n", name, started.error().message());
    return 1;
  }
  // Not ready until the SSE streams' consumer has its partitions: a browser
  // sent here before that would miss what is published meanwhile. The HTTP
  // server, made below, goes before the services.
  if (reservation) {
    health->add("reservation live updates",
                [service = reservation.get()] { return service->live_updates_ready(); });
  }
  if (order) {
    health->add("order live updates",
                [service = order.get()] { return service->live_updates_ready(); });
  }
  if (settings.trace.conformance_route) {
    http::add_trace_conformance_route(router, client);
    log::warn("{} is enabled (trace.conformance_route)", http::kTraceConformancePath);
  }
  if (reservation && settings.demo_event) create_demo_event_if_none_on_sale(*reservation);

  auto server =
      start_http_server(settings, server_entry(settings, router, tracer, registry), registry);
  if (!server) {
    fmt::print(stderr, "seatflow: {}\n", server.error().message());
    return 1;
  }
  fmt::print("Seatflow {} ({}) is serving on http://{}:{}. Press Ctrl-C to stop.\n", name, instance,
             settings.http.server.host, (*server)->port());
  std::fflush(stdout);

  wait_for_shutdown(signals);
  (*server)->stop();
  if (order) order->stop();
  if (reservation) reservation->stop();
  (*relay)->stop();
  telemetry.shutdown();
  log::info("stopped");
  return 0;
}

}  // namespace seatflow::app
