#include "app/services.hpp"

#include <filesystem>
#include <string>

#include "db/postgres_database.hpp"
#include "db/sqlite_database.hpp"
#include "services/order/order_service.hpp"
#include "services/payment/payment_service.hpp"
#include "services/reservation/reservation_service.hpp"

namespace seatflow::app {

const std::vector<ServiceModule>& service_modules() {
  static const std::vector<ServiceModule> kModules = {
      {reservation::kServiceName, &reservation::migration_files},
      {payment::kServiceName, &payment::migration_files},
      {order::kServiceName, &order::migration_files},
  };
  return kModules;
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
                              .application_name = "seatflow-" + std::string(service)});
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
       .synchronous = settings.sqlite_synchronous});
}

}  // namespace seatflow::app
