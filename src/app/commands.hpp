// The subcommands of `seatflow`, each returning the process exit code:
// 0 success, 1 a runtime failure (reported on stderr), 2 bad usage or config.
//
// Thread safety: run from main() only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "app/settings.hpp"
#include "core/config.hpp"

namespace seatflow::app {

struct ServiceModule;

struct MigrateOptions {
  std::optional<std::string> service;  // all services when empty
  bool dry_run = false;
};
// Migrates the services' schemas, then creates the bus topics (as
// run_topics); with a service, its schema and the topics it publishes.
int run_migrate(const Settings& settings, const MigrateOptions& options);

// Creates the topics the services (or `only`) publish to on the configured
// bus, with bus.partitions partitions; topics that exist are left as they are.
int run_topics(const Settings& settings, bool dry_run, const ServiceModule* only = nullptr);

// Prints the effective configuration, or with `reference` the Markdown table
// of every key that docs/configuration.md holds.
int run_config(const Config& config, bool reference);

// Runs every service in this process on the embedded databases and serves
// every API on one port until SIGINT or SIGTERM.
int run_up(const Settings& settings);

// Runs one service (reservation, payment or order) in this process on
// PostgreSQL and Kafka, as one of any number of replicas, until SIGINT or
// SIGTERM. Refuses (2) settings a replica cannot run with.
int run_serve(const Settings& settings, std::string_view service);

}  // namespace seatflow::app
