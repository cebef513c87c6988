// Layered configuration: built-in defaults < a TOML file < SEATFLOW_*
// environment variables < command-line flags.
//
// The set of keys is declared once, as a ConfigSchema, by the composition root
// (src/app/settings.cpp). Anything outside the schema is rejected: an unknown
// key in the file or in a flag, a value of the wrong type, a value outside its
// allowed choices or range. Errors are ConfigError exceptions whose message is
// one line naming the key (and the file or variable it came from); `seatflow`
// prints it and exits with status 2.
//
// A key "a.b_c" is read from the TOML table [a] as b_c, from the environment
// as SEATFLOW_A_B_C, and from flags as `--set a.b_c=VALUE`.
//
// Thread safety: a loaded Config is immutable; read it from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace seatflow {

enum class ConfigType { kString, kInteger, kBoolean, kDouble, kDuration };

struct ConfigKey {
  std::string key;  // dotted path, e.g. "database.pool_size"
  ConfigType type;
  std::string default_value;  // written as it would be in an environment variable
  std::string help;
  std::vector<std::string> choices = {};  // for strings: the allowed values, if limited
  std::optional<int64_t> min = {};        // for integers
  std::optional<int64_t> max = {};
};

using ConfigSchema = std::vector<ConfigKey>;

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using ConfigValue = std::variant<std::string, int64_t, bool, double, std::chrono::milliseconds>;

struct ConfigSources {
  std::optional<std::string> file;                             // TOML file, if any
  std::map<std::string, std::string> environment;              // usually from environ
  std::vector<std::pair<std::string, std::string>> overrides;  // key, value from flags
};

class Config {
 public:
  // Throws ConfigError.
  static Config load(const ConfigSchema& schema, const ConfigSources& sources);

  // The process environment as a map, for ConfigSources::environment.
  static std::map<std::string, std::string> process_environment();

  // "SEATFLOW_DATABASE_POOL_SIZE" for "database.pool_size".
  static std::string environment_name(const std::string& key);

  // REQUIRES: `key` is in the schema and has the requested type.
  const std::string& get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  double get_double(const std::string& key) const;
  std::chrono::milliseconds get_duration(const std::string& key) const;

  // Where a key's value came from: "default", "file", "env", "flag".
  const std::string& source_of(const std::string& key) const;

  // Every key with its value as text, in schema order.
  std::vector<std::pair<std::string, std::string>> dump() const;

 private:
  struct Entry {
    ConfigType type;
    ConfigValue value;
    std::string source;
  };
  const Entry& entry(const std::string& key, ConfigType type) const;

  std::vector<std::string> order_;
  std::map<std::string, Entry> entries_;
};

// "250ms", "5s", "10m", "1h" -> milliseconds. Returns nullopt if malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace seatflow
