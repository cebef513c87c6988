#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <vector>

#include <fmt/core.h>

#include "app/commands.hpp"
#include "app/process.hpp"
#include "app/services.hpp"
#include "app/telemetry.hpp"
#include "app/web_ui.hpp"
#include "bus/outbox.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "http/conformance.hpp"
#include "http/middleware.hpp"
#include "http/server.hpp"
#include "http/sse.hpp"
#include "metrics/registry.hpp"
#include "services/common/auth.hpp"
#include "services/order/order_service.hpp"
#include "services/payment/payment_service.hpp"
#include "services/reservation/reservation_service.hpp"

namespace seatflow::app {
namespace {

// The session secret of an embedded installation: configured, or generated
// once and kept in <data_dir>/session.secret so sessions survive restarts.
Result<std::string> embedded_session_secret(const Settings& settings) {
  if (!settings.auth.session_secret.empty()) return settings.auth.session_secret;
  const std::string path = settings.data_dir + "/session.secret";
  if (std::ifstream in(path); in) {
    std::string secret;
    std::getline(in, secret);
    if (secret.size() >= 32) return secret;
  }
  const std::string secret = services::random_secret();
  const mode_t previous = umask(077);
  std::ofstream out(path, std::ios::trunc);
  out << secret << "\n";
  out.close();
  umask(previous);
  if (!out) return fail(ErrorCode::kInternal, "cannot write " + path);
  return secret;
}

}  // namespace

int run_up(const Settings& settings) {
  if (settings.database.backend != "sqlite") {
    fmt::print(stderr,
               "seatflow: `up` runs embedded on SQLite; use `seatflow serve` with PostgreSQL\n");
    return 2;
  }
  apply_cpu_scheduling(settings.cpu_scheduling == "auto" ? "batch" : settings.cpu_scheduling);
  const sigset_t signals = block_shutdown_signals();

  // Embedded mode owns its files: bring every schema up to date.
  std::vector<std::unique_ptr<db::Database>> databases;
  auto health = std::make_shared<http::HealthChecks>();
  for (const auto& module : service_modules()) {
    const std::string name(module.name);
    auto database = open_service_database(settings.database, settings.data_dir, name);
    if (database) {
      if (auto st = prepare_schema(**database, name, /*migrate=*/true); !st)
        database = fail(st.error());
    }
    if (!database) {
      fmt::print(stderr, "seatflow: {}: {}\n", name, database.error().message());
      return 1;
    }
    db::Database* db = database->get();
    health->add(name + " database", [db] { return db->ping(); });
    databases.push_back(std::move(*database));
  }

  metrics::Registry registry;
  Telemetry telemetry(kEmbeddedServiceName, registry);
  const trace::Tracer& tracer = telemetry.tracer();

  // The embedded log, its topics, and each service's outbox relay. One
  // process owns these files, so the relays' lease owner is fixed: after a
  // restart they take their lanes straight back.
  auto bus = open_bus(settings.bus, settings.database, settings.data_dir, SystemClock::instance());
  if (!bus) {
    fmt::print(stderr, "seatflow: {}\n", bus.error().message());
    return 1;
  }
  if (auto st = (*bus)->create_topics(topic_specs(settings.bus)); !st) {
    fmt::print(stderr, "seatflow: {}\n", st.error().message());
    return 1;
  }
  std::vector<std::unique_ptr<bus::OutboxRelay>> relays;
  for (size_t i = 0; i < databases.size(); ++i) {
    auto relay = start_relay(std::string(service_modules()[i].name), *databases[i], **bus, tracer,
                             settings.bus, "embedded", registry);
    if (!relay) {
      fmt::print(stderr, "seatflow: {}\n", relay.error().message());
      return 1;
    }
    relays.push_back(std::move(*relay));
  }

  http::SseHub hub(settings.http.sse, registry);
  http::Router router;
  http::add_observability_routes(router, registry, health);
  http::HttpClient client;
  client.set_tracer(&tracer);

  // The three services, on their own databases, sharing the bus, the SSE hub
  // and the port.
  auto secret = embedded_session_secret(settings);
  if (!secret) {
    fmt::print(stderr, "seatflow: {}\n", secret.error().message());
    return 1;
  }
  services::AuthOptions auth_options = settings.auth;
  auth_options.session_secret = *secret;
  if (auth_options.service_token.empty()) auth_options.service_token = services::random_secret();
  const services::Auth auth(auth_options, SystemClock::instance());
  auto context = [&](size_t i) {
    databases[i]->set_tracer(&tracer, std::string(service_modules()[i].name));
    return service_context(*databases[i], **bus, settings, tracer, registry, hub, auth, "embedded");
  };
  reservation::ReservationService reservation(context(0), settings.reservation);
  payment::PaymentService payment(context(1), settings.payment);
  order::OrderOptions order_options = settings.order;
  order_options.owner = "embedded";
  order::OrderService order(context(2), client, order_options);
  reservation.add_routes(router);
  payment.add_routes(router);
  order.add_routes(router);
  if (const std::string ui = add_web_ui(router, settings.ui); !ui.empty()) {
    log::info("serving the web UI from {}", ui);
  }
  if (settings.trace.conformance_route) {
    http::add_trace_conformance_route(router, client);
    log::warn("{} is enabled (trace.conformance_route)", http::kTraceConformancePath);
  }

  const http::Handler entry = server_entry(settings, router, tracer, registry);
  auto server = start_http_server(settings, entry, registry);
  if (!server) {
    fmt::print(stderr, "seatflow: {}\n", server.error().message());
    return 1;
  }
  // The services call each other at this address; the client hands those
  // calls to the server's entry in this process, without a socket.
  const std::string self_authority = fmt::format("127.0.0.1:{}", (*server)->port());
  client.serve_locally(self_authority, entry);
  const std::string self = "http://" + self_authority;
  order.set_peer_urls(
      settings.order.reservation_url.empty() ? self : settings.order.reservation_url,
      settings.order.payment_url.empty() ? self : settings.order.payment_url);
  for (Status st : {reservation.start(), order.start()}) {
    if (!st) {
      fmt::print(stderr, "seatflow: {}\n", st.error().message());
      return 1;
    }
  }
  if (settings.demo_event) create_demo_event_if_none_on_sale(reservation);
  if (auth_options.admin_token.empty()) {
    log::info("the admin API is off: set auth.admin_token (SEATFLOW_AUTH_ADMIN_TOKEN) to use it");
  }
  const std::string host =
      settings.http.server.host == "0.0.0.0" ? "localhost" : settings.http.server.host;
  fmt::print("Seatflow is running on http://{}:{} (data in {}). Press Ctrl-C to stop.\n", host,
             (*server)->port(), settings.data_dir);
  std::fflush(stdout);

  wait_for_shutdown(signals);
  (*server)->stop();
  order.stop();
  reservation.stop();
  for (auto& relay : relays) relay->stop();
  telemetry.shutdown();
  log::info("stopped");
  return 0;
}

}  // namespace seatflow::app
