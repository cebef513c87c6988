#include "app/settings.hpp"

namespace seatflow::app {

ConfigSchema config_schema() {
  using T = ConfigType;
  return {
      {"data_dir", T::kString, "./data",
       "Folder of the embedded mode's SQLite files (one per service)."},
      {"log.level",
       T::kString,
       "info",
       "Lowest level written.",
       {"trace", "debug", "info", "warn", "error", "off"}},
      {"log.format",
       T::kString,
       "text",
       "text: human-readable lines; json: one object per line.",
       {"text", "json"}},
      {"database.backend",
       T::kString,
       "sqlite",
       "sqlite: files under data_dir (embedded); postgres: database.url (distributed).",
       {"sqlite", "postgres"}},
      {"database.url", T::kString, "",
       "PostgreSQL connection string, e.g. postgresql://seatflow@127.0.0.1:5432/seatflow. "
       "Each service uses its own schema, named after it."},
      {"database.pool_size", T::kInteger, "8", "PostgreSQL connections per service.", {}, 1, 512},
      {"database.acquire_timeout", T::kDuration, "5s",
       "How long a request waits for a free PostgreSQL connection."},
      {"database.connect_timeout", T::kDuration, "5s", "PostgreSQL connect timeout."},
      {"database.sqlite_busy_timeout", T::kDuration, "5s",
       "How long SQLite waits for a lock held by another process."},
      {"database.sqlite_synchronous",
       T::kString,
       "NORMAL",
       "SQLite durability: NORMAL survives a process crash; FULL also survives power loss.",
       {"NORMAL", "FULL"}},
  };
}

Settings settings_from(const Config& config) {
  Settings s;
  s.data_dir = config.get_string("data_dir");
  log::parse_level(config.get_string("log.level"), s.log.level);
  log::parse_format(config.get_string("log.format"), s.log.format);
  s.database.backend = config.get_string("database.backend");
  s.database.url = config.get_string("database.url");
  s.database.pool_size = static_cast<int>(config.get_int("database.pool_size"));
  s.database.acquire_timeout = config.get_duration("database.acquire_timeout");
  s.database.connect_timeout = config.get_duration("database.connect_timeout");
  s.database.sqlite_busy_timeout = config.get_duration("database.sqlite_busy_timeout");
  s.database.sqlite_synchronous = config.get_string("database.sqlite_synchronous");
  if (s.database.backend == "postgres" && s.database.url.empty()) {
    throw ConfigError("config key 'database.url' must be set when database.backend is postgres");
  }
  return s;
}

}  // namespace seatflow::app
