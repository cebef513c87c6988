#include "app/services.hpp"

#include <filesystem>
#include <string>

#include "bus/embedded_log.hpp"
#include "bus/kafka_bus.hpp"
#include "bus/outbox.hpp"
#include "db/postgres_database.hpp"
#include "db/sqlite_database.hpp"
#include "services/order/order_service.hpp"
#include "services/payment/payment_service.hpp"
#include "services/reservation/reservation_service.hpp"

namespace seatflow::app {

const std::vector<ServiceModule>& service_modules() {
  static const std::vector<ServiceModule> kModules = {
      {reservation::kServiceName,
       &reservation::migration_files,
       reservation::kMessagingUpgradeVersions,
       {"reservation.events", "seat.changes"}},
      {payment::kServiceName, &payment::migration_files, payment::kMessagingUpgradeVersions, {}},
      {order::kServiceName,
       &order::migration_files,
       order::kMessagingUpgradeVersions,
       {"order.events"}},
  };
  return kModules;
}

std::vector<db::MigrationFile> migration_files(const ServiceModule& module) {
  return bus::service_migration_files(module.own_migration_files(),
                                      module.messaging_upgrade_versions);
}

std::vector<bus::TopicSpec> topic_specs(const BusSettings& settings, const ServiceModule* only) {
  std::vector<bus::TopicSpec> specs;
  for (const auto& module : service_modules()) {
    if (only != nullptr && module.name != only->name) continue;
    for (const auto topic : module.published_topics) {
      specs.push_back({std::string(topic), settings.partitions});
    }
  }
  return specs;
}

Result<std::unique_ptr<bus::Bus>> open_bus(const BusSettings& settings,
                                           const DatabaseSettings& database,
                                           const std::string& data_dir, const Clock& clock) {
  if (settings.backend == "kafka") {
    return bus::open_kafka({.brokers = settings.kafka_brokers,
                            .client_id = "seatflow",
                            .replication_factor = settings.replication_factor,
                            .fetch_wait = settings.kafka_fetch_wait,
                            .fetch_min_bytes = settings.kafka_fetch_min_bytes});
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable,
                "cannot create data folder " + data_dir + ": " + ec.message());
  }
  const std::string path = (std::filesystem::path(data_dir) / "bus.db").string();
  return bus::open_embedded_log({.path = path, .exclusive = database.sqlite_exclusive}, clock);
}

const ServiceModule* find_service(std::string_view name) {
  for (const auto& m : service_modules()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string sqlite_path(const std::string& data_dir, std::string_view service) {
  return (std::filesystem::path(data_dir) / (std::string(service) + ".db")).string();
}

Result<std::unique_ptr<db::Database>> open_service_database(const DatabaseSettings& settings,
                                                            const std::string& data_dir,
                                                            std::string_view service) {
  if (settings.backend == "postgres") {
    return db::open_postgres({.conninfo = settings.url,
                              .schema = std::string(service),
                              .pool_size = settings.pool_size,
                              .acquire_timeout = settings.acquire_timeout,
                              .connect_timeout = settings.connect_timeout,
                              .application_name = "seatflow-" + std::string(service),
                              .notify_interval = settings.notify_interval});
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable,
                "cannot create data folder " + data_dir + ": " + ec.message());
  }
  return db::open_sqlite(
      {.path = (std::filesystem::path(data_dir) / (std::string(service) + ".db")).string(),
       .busy_timeout = settings.sqlite_busy_timeout,
       .synchronous = settings.sqlite_synchronous,
       .exclusive = settings.sqlite_exclusive});
}

}  // namespace seatflow::app
