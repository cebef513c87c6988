// The seatflow command: the one composition root of the project.

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "app/commands.hpp"
#include "app/settings.hpp"
#include "core/config.hpp"
#include "core/log.hpp"

#ifndef SEATFLOW_VERSION
#define SEATFLOW_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace seatflow;

  CLI::App cli{
      "Seatflow: reserved-seat ticketing. Hold seats on a live seat map, pay, and see\n"
      "them turn SOLD.",
      "seatflow"};
  cli.set_version_flag("--version", std::string("seatflow ") + SEATFLOW_VERSION);
  cli.require_subcommand(1);
  cli.fallthrough();  // global options may follow the command: `seatflow migrate --data-dir x`
  cli.footer(
      "Configuration: built-in defaults < the --config TOML file < SEATFLOW_* environment\n"
      "variables < flags. See docs/configuration.md, or `seatflow config`.");

  std::optional<std::string> config_file;
  std::vector<std::string> sets;
  std::optional<std::string> data_dir;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  cli.add_option("-c,--config", config_file, "TOML configuration file")->envname("SEATFLOW_CONFIG");
  cli.add_option("--set", sets, "Override a configuration key: --set KEY=VALUE (repeatable)");
  cli.add_option("--data-dir", data_dir, "Same as --set data_dir=DIR");
  cli.add_option("--log-level", log_level, "Same as --set log.level=LEVEL");
  cli.add_option("--log-format", log_format, "Same as --set log.format=text|json");

  std::optional<uint16_t> port;
  app::MigrateOptions migrate;
  CLI::App* migrate_cmd = cli.add_subcommand(
      "migrate",
      "Apply pending schema migrations of every service (or of --service), then create the bus "
      "topics they publish.");
  migrate_cmd->add_option("--service", migrate.service, "reservation, payment or order");
  migrate_cmd->add_flag("--dry-run", migrate.dry_run, "List what would be applied; change nothing");

  bool topics_dry_run = false;
  CLI::App* topics_cmd = cli.add_subcommand(
      "topics",
      "Create the message bus topics the services publish to (bus.backend: the embedded log or "
      "Kafka), with bus.partitions partitions. `migrate` does it too.");
  topics_cmd->add_flag("--dry-run", topics_dry_run, "List the topics; change nothing");

  CLI::App* up_cmd = cli.add_subcommand(
      "up",
      "Run Seatflow embedded: every service in one process on SQLite files under the data "
      "folder, which no other process may open meanwhile (database.sqlite_exclusive), every "
      "API on one port (http.port, default 8080).");
  up_cmd->add_option("-p,--port", port, "Same as --set http.port=PORT");

  std::string serve_service;
  CLI::App* serve_cmd = cli.add_subcommand(
      "serve",
      "Run one service on PostgreSQL and Kafka, as one replica among any number: the "
      "distributed mode. Run `seatflow migrate` first; see docs/distributed.md.");
  serve_cmd->add_option("service", serve_service, "reservation, payment or order")
      ->required()
      ->check(CLI::IsMember({"reservation", "payment", "order"}));
  serve_cmd->add_option("-p,--port", port, "Same as --set http.port=PORT");

  bool config_reference = false;
  CLI::App* config_cmd = cli.add_subcommand(
      "config", "Print the effective configuration and where each value came from.");
  config_cmd->add_flag("--reference", config_reference,
                       "Print the reference table of every key (Markdown)");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.exit(e);
    fmt::print(stderr, "seatflow: {}\nRun 'seatflow --help' for usage.\n", e.what());
    return 2;
  }
  Config config;
  app::Settings settings;
  try {
    ConfigSources sources;
    sources.file = config_file;
    sources.environment = Config::process_environment();
    for (const auto& s : sets) {
      const auto eq = s.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw ConfigError("--set takes KEY=VALUE, got '" + s + "'");
      }
      sources.overrides.emplace_back(s.substr(0, eq), s.substr(eq + 1));
    }
    if (data_dir) sources.overrides.emplace_back("data_dir", *data_dir);
    if (log_level) sources.overrides.emplace_back("log.level", *log_level);
    if (log_format) sources.overrides.emplace_back("log.format", *log_format);
    if (port) sources.overrides.emplace_back("http.port", std::to_string(*port));
    config = Config::load(app::config_schema(), sources);
    settings = app::settings_from(config);
  } catch (const ConfigError& e) {
    fmt::print(stderr, "seatflow: {}\n", e.what());
    return 2;
  }
  log::configure(settings.log);
  for (const auto& warning : settings.warnings) log::warn("{}", warning);

  if (migrate_cmd->parsed()) return app::run_migrate(settings, migrate);
  if (topics_cmd->parsed()) return app::run_topics(settings, topics_dry_run);
  if (config_cmd->parsed()) return app::run_config(config, config_reference);
  if (up_cmd->parsed()) return app::run_up(settings);
  if (serve_cmd->parsed()) return app::run_serve(settings, serve_service);
  return 2;
}
