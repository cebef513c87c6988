#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <sstream>

#include <toml++/toml.h>
#include <unistd.h>

namespace seatflow {
namespace {

std::string type_name(ConfigType type) {
  switch (type) {
    case ConfigType::kString: return "a string";
    case ConfigType::kInteger: return "an integer";
    case ConfigType::kBoolean: return "a boolean (true or false)";
    case ConfigType::kDouble: return "a number";
    case ConfigType::kDuration: return "a duration such as \"250ms\", \"5s\" or \"10m\"";
  }
  return "a value";
}

std::string single_quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string copy(text);
  std::istringstream in(copy);
  double value = 0;
  in >> value;
  if (in.fail() || !in.eof()) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

// Parses text (from the environment, a flag or a default) as the key's type.
std::optional<ConfigValue> parse_text(const ConfigKey& spec, std::string_view text) {
  switch (spec.type) {
    case ConfigType::kString: return ConfigValue(std::string(text));
    case ConfigType::kInteger:
      if (auto v = parse_int(text)) return ConfigValue(*v);
      return std::nullopt;
    case ConfigType::kBoolean:
      if (auto v = parse_bool(text)) return ConfigValue(*v);
      return std::nullopt;
    case ConfigType::kDouble:
      if (auto v = parse_double(text)) return ConfigValue(*v);
      return std::nullopt;
    case ConfigType::kDuration:
      if (auto v = parse_duration(text)) return ConfigValue(*v);
      return std::nullopt;
  }
  return std::nullopt;
}

// Parses a TOML node as the key's type; TOML's own types must match.
std::optional<ConfigValue> parse_node(const ConfigKey& spec, const toml::node& node) {
  switch (spec.type) {
    case ConfigType::kString:
      if (auto v = node.value_exact<std::string>()) return ConfigValue(*v);
      return std::nullopt;
    case ConfigType::kInteger:
      if (auto v = node.value_exact<int64_t>()) return ConfigValue(*v);
      return std::nullopt;
    case ConfigType::kBoolean:
      if (auto v = node.value_exact<bool>()) return ConfigValue(*v);
      return std::nullopt;
    case ConfigType::kDouble:
      if (auto v = node.value_exact<double>()) return ConfigValue(*v);
      if (auto i = node.value_exact<int64_t>()) return ConfigValue(static_cast<double>(*i));
      return std::nullopt;
    case ConfigType::kDuration:
      if (auto v = node.value_exact<std::string>()) {
        if (auto d = parse_duration(*v)) return ConfigValue(*d);
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::string value_text(const ConfigValue& value) {
  struct Visitor {
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(double d) const {
      std::ostringstream out;
      out << d;
      return out.str();
    }
    std::string operator()(std::chrono::milliseconds d) const { return format_duration(d); }
  };
  return std::visit(Visitor{}, value);
}

class Loader {
 public:
  explicit Loader(const ConfigSchema& schema) {
    for (const auto& spec : schema) specs_.emplace(spec.key, &spec);
  }

  const ConfigKey* find(const std::string& key) const {
    auto it = specs_.find(key);
    return it == specs_.end() ? nullptr : it->second;
  }

  // Checks choices and ranges; `where` says where the value came from.
  void check(const ConfigKey& spec, const ConfigValue& value, const std::string& where) const {
    if (!spec.choices.empty()) {
      const auto& s = std::get<std::string>(value);
      if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
        std::string allowed;
        for (const auto& c : spec.choices) allowed += (allowed.empty() ? "" : ", ") + c;
        throw ConfigError("config key " + single_quoted(spec.key) + where + " must be one of " +
                          allowed + ", got " + single_quoted(s));
      }
    }
    if (spec.type == ConfigType::kInteger) {
      const int64_t i = std::get<int64_t>(value);
      if ((spec.min && i < *spec.min) || (spec.max && i > *spec.max)) {
        throw ConfigError("config key " + single_quoted(spec.key) + where + " must be between " +
                          std::to_string(spec.min.value_or(INT64_MIN)) + " and " +
                          std::to_string(spec.max.value_or(INT64_MAX)) + ", got " +
                          std::to_string(i));
      }
    }
  }

 private:
  std::map<std::string, const ConfigKey*> specs_;
};

void walk_table(const toml::table& table, const std::string& prefix, const Loader& loader,
                const std::string& file, std::map<std::string, ConfigValue>& out) {
  for (const auto& [name, node] : table) {
    const std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    const ConfigKey* spec = loader.find(key);
    if (spec == nullptr) {
      if (const toml::table* sub = node.as_table()) {
        walk_table(*sub, key, loader, file, out);
        continue;
      }
      throw ConfigError("unknown config key " + single_quoted(key) + " in " + file);
    }
    auto value = parse_node(*spec, node);
    if (!value) {
      throw ConfigError("config key " + single_quoted(key) + " in " + file + " must be " +
                        type_name(spec->type));
    }
    loader.check(*spec, *value, " in " + file);
    out[key] = std::move(*value);
  }
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  auto number = parse_int(text.substr(0, digits));
  if (!number) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  int64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else
    return std::nullopt;
  return std::chrono::milliseconds(*number * factor);
}

std::string format_duration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string Config::environment_name(const std::string& key) {
  std::string name = "SEATFLOW_";
  for (char c : key) {
    name.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return name;
}

std::map<std::string, std::string> Config::process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Config Config::load(const ConfigSchema& schema, const ConfigSources& sources) {
  Loader loader(schema);
  Config config;

  for (const auto& spec : schema) {
    auto value = parse_text(spec, spec.default_value);
    if (!value) throw ConfigError("bad built-in default for config key " + single_quoted(spec.key));
    config.order_.push_back(spec.key);
    config.entries_[spec.key] = Entry{spec.type, std::move(*value), "default"};
  }

  if (sources.file) {
    const std::string& file = *sources.file;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      throw ConfigError("config file " + single_quoted(file) + " not found");
    }
    toml::table table;
    try {
      table = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      throw ConfigError("config file " + single_quoted(file) + " is not valid TOML (line " +
                        std::to_string(where.line) + ", column " + std::to_string(where.column) +
                        "): " + std::string(e.description()));
    }
    std::map<std::string, ConfigValue> values;
    walk_table(table, "", loader, single_quoted(file), values);
    for (auto& [key, value] : values) {
      auto& e = config.entries_.at(key);
      e.value = std::move(value);
      e.source = "file";
    }
  }

  for (const auto& spec : schema) {
    const std::string name = environment_name(spec.key);
    auto it = sources.environment.find(name);
    if (it == sources.environment.end()) continue;
    auto value = parse_text(spec, it->second);
    if (!value) {
      throw ConfigError("config key " + single_quoted(spec.key) + " from environment variable " +
                        name + " must be " + type_name(spec.type) + ", got " +
                        single_quoted(it->second));
    }
    loader.check(spec, *value, " from environment variable " + name);
    auto& e = config.entries_.at(spec.key);
    e.value = std::move(*value);
    e.source = "env";
  }

  for (const auto& [key, text] : sources.overrides) {
    const ConfigKey* spec = loader.find(key);
    if (spec == nullptr)
      throw ConfigError("unknown config key " + single_quoted(key) + " in flags");
    auto value = parse_text(*spec, text);
    if (!value) {
      throw ConfigError("config key " + single_quoted(key) + " from flags must be " +
                        type_name(spec->type) + ", got " + single_quoted(text));
    }
    loader.check(*spec, *value, " from flags");
    auto& e = config.entries_.at(key);
    e.value = std::move(*value);
    e.source = "flag";
  }
  return config;
}

const Config::Entry& Config::entry(const std::string& key, ConfigType type) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.type != type) {
    throw std::logic_error("config key '" + key + "' is not in the schema with that type");
  }
  return it->second;
}

const std::string& Config::get_string(const std::string& key) const {
  return std::get<std::string>(entry(key, ConfigType::kString).value);
}
int64_t Config::get_int(const std::string& key) const {
  return std::get<int64_t>(entry(key, ConfigType::kInteger).value);
}
bool Config::get_bool(const std::string& key) const {
  return std::get<bool>(entry(key, ConfigType::kBoolean).value);
}
double Config::get_double(const std::string& key) const {
  return std::get<double>(entry(key, ConfigType::kDouble).value);
}
std::chrono::milliseconds Config::get_duration(const std::string& key) const {
  return std::get<std::chrono::milliseconds>(entry(key, ConfigType::kDuration).value);
}

const std::string& Config::source_of(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) throw std::logic_error("config key '" + key + "' is not in the schema");
  return it->second.source;
}

std::vector<std::pair<std::string, std::string>> Config::dump() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& key : order_) out.emplace_back(key, value_text(entries_.at(key).value));
  return out;
}

}  // namespace seatflow
