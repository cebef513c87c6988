#include <cstdio>
#include <filesystem>

#include <fmt/core.h>

#include "app/commands.hpp"
#include "app/services.hpp"
#include "core/clock.hpp"
#include "db/migrations.hpp"

namespace seatflow::app {
namespace {

// Migrates one service; prints what it did. Returns false on failure.
bool migrate_service(const Settings& settings, const ServiceModule& module, bool dry_run) {
  const std::string name(module.name);
  auto migrations = db::select_migrations(
      migration_files(module),
      settings.database.backend == "postgres" ? db::Dialect::kPostgres : db::Dialect::kSqlite);
  if (!migrations) {
    fmt::print(stderr, "seatflow: {}: {}\n", name, migrations.error().message());
    return false;
  }
  if (dry_run && settings.database.backend == "sqlite" &&
      !std::filesystem::exists(sqlite_path(settings.data_dir, name))) {
    // Opening would create the file; a dry run reports instead.
    fmt::print("{}: would create {}\n", name, sqlite_path(settings.data_dir, name));
    for (const auto& m : *migrations) {
      fmt::print("{}: would apply V{} ({}) from {}\n", name, m.version, m.description, m.script);
    }
    return true;
  }
  auto database = open_service_database(settings.database, settings.data_dir, name);
  if (!database) {
    fmt::print(stderr, "seatflow: {}: {}\n", name, database.error().message());
    return false;
  }
  db::Migrator migrator(**database, name, std::move(*migrations), SystemClock::instance());
  auto done = migrator.migrate(dry_run);
  if (!done) {
    fmt::print(stderr, "seatflow: {}: {}\n", name, done.error().message());
    return false;
  }
  if (done->empty()) {
    fmt::print("{}: schema is up to date\n", name);
  }
  for (const auto& m : *done) {
    fmt::print("{}: {} V{} ({}) from {}\n", name, dry_run ? "would apply" : "applied", m.version,
               m.description, m.script);
  }
  return true;
}

}  // namespace

int run_topics(const Settings& settings, bool dry_run, const ServiceModule* only) {
  const auto specs = topic_specs(settings.bus, only);
  if (dry_run) {
    for (const auto& t : specs) {
      fmt::print("{}: would create topic {} ({} partitions)\n", settings.bus.backend, t.name,
                 t.partitions);
    }
    return 0;
  }
  auto bus = open_bus(settings.bus, settings.database, settings.data_dir, SystemClock::instance());
  if (!bus) {
    fmt::print(stderr, "seatflow: {}\n", bus.error().message());
    return 1;
  }
  if (auto st = (*bus)->create_topics(specs); !st) {
    fmt::print(stderr, "seatflow: {}\n", st.error().message());
    return 1;
  }
  for (const auto& t : specs) {
    fmt::print("{}: topic {} is there ({} partitions when created)\n", (*bus)->system(), t.name,
               t.partitions);
  }
  return 0;
}

int run_migrate(const Settings& settings, const MigrateOptions& options) {
  if (options.service) {
    const ServiceModule* module = find_service(*options.service);
    if (module == nullptr) {
      fmt::print(stderr,
                 "seatflow: unknown service '{}' (expected reservation, payment or order)\n",
                 *options.service);
      return 2;
    }
    if (!migrate_service(settings, *module, options.dry_run)) return 1;
    return run_topics(settings, options.dry_run, module);
  }
  bool all_ok = true;
  for (const auto& module : service_modules()) {
    all_ok = migrate_service(settings, module, options.dry_run) && all_ok;
  }
  if (!all_ok) return 1;
  return run_topics(settings, options.dry_run);
}

int run_config(const Config& config, bool reference) {
  if (reference) {
    static constexpr std::string_view kTypes[] = {"string", "integer", "boolean", "number",
                                                  "duration"};
    fmt::print("| key | type | default | environment | meaning |\n");
    fmt::print("| --- | --- | --- | --- | --- |\n");
    for (const auto& key : config_schema()) {
      std::string meaning = key.help;
      if (!key.choices.empty()) {
        meaning += " One of:";
        for (const auto& c : key.choices) meaning += " `" + c + "`";
        meaning += ".";
      }
      if (key.min || key.max) {
        meaning += fmt::format(" From {} to {}.", key.min.value_or(INT64_MIN),
                               key.max.value_or(INT64_MAX));
      }
      fmt::print("| `{}` | {} | `{}` | `{}` | {} |\n", key.key, kTypes[static_cast<int>(key.type)],
                 key.default_value.empty() ? "\"\"" : key.default_value,
                 Config::environment_name(key.key), meaning);
    }
    return 0;
  }
  for (const auto& [key, value] : config.dump()) {
    fmt::print("{} = {}  # {}\n", key, value, config.source_of(key));
  }
  return 0;
}

}  // namespace seatflow::app
