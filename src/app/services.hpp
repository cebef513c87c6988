// The services this binary can run, and how to open each one's database.
//
// Thread safety: functions are safe to call from any thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "app/settings.hpp"
#include "bus/bus.hpp"
#include "core/clock.hpp"
#include "core/status.hpp"
#include "db/database.hpp"
#include "db/migrations.hpp"

namespace seatflow::app {

struct ServiceModule {
  std::string_view name;
  std::vector<db::MigrationFile> (*own_migration_files)();
  std::span<const int> messaging_upgrade_versions;  // see bus::messaging_upgrade_files
  std::vector<std::string_view> published_topics;   // through its outbox
};

// The service's schema: the messaging tables every service has (V1 and V2, from
// src/bus/migrations), then its own migrations with the later changes to the
// messaging tables (src/bus/upgrades) among them.
std::vector<db::MigrationFile> migration_files(const ServiceModule& module);

// Every topic the services publish (or only `only`'s), with the configured
// partition count.
std::vector<bus::TopicSpec> topic_specs(const BusSettings& settings,
                                        const ServiceModule* only = nullptr);

// The configured bus: the embedded log at <data_dir>/bus.db (a SQLite file
// of the data folder like the services', `database` says how it is held),
// or Kafka.
Result<std::unique_ptr<bus::Bus>> open_bus(const BusSettings& settings,
                                           const DatabaseSettings& database,
                                           const std::string& data_dir, const Clock& clock);

// reservation, payment, order.
const std::vector<ServiceModule>& service_modules();
const ServiceModule* find_service(std::string_view name);

// <data_dir>/<service>.db: the embedded mode's file for a service.
std::string sqlite_path(const std::string& data_dir, std::string_view service);

// SQLite: <data_dir>/<service>.db (the folder is created); PostgreSQL:
// database.url with the service's own schema.
Result<std::unique_ptr<db::Database>> open_service_database(const DatabaseSettings& settings,
                                                            const std::string& data_dir,
                                                            std::string_view service);

}  // namespace seatflow::app
