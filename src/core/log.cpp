#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/text.hpp"

namespace seatflow::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kText};
std::atomic<TraceIdsProvider> g_trace_provider{nullptr};

std::mutex g_sink_mu;
LineSink g_test_sink = nullptr;  // guarded by g_sink_mu
void* g_test_context = nullptr;  // guarded by g_sink_mu

spdlog::logger& stderr_logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("seatflow", std::move(sink));
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

constexpr std::string_view level_name(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "info";
}

constexpr std::string_view level_label(Level level) {
  switch (level) {
    case Level::kTrace: return "TRACE";
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO ";
    case Level::kWarn: return "WARN ";
    case Level::kError: return "ERROR";
    case Level::kOff: return "OFF  ";
  }
  return "INFO ";
}

// RFC 3339 UTC with milliseconds: 2026-11-24T10:00:00.123Z
void append_timestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const auto seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  out.append(buf, n);
  const int frac = static_cast<int>(ms.count() % 1000);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + frac / 100));
  out.push_back(static_cast<char>('0' + frac / 10 % 10));
  out.push_back(static_cast<char>('0' + frac % 10));
  out.push_back('Z');
}

// Text values that contain spaces or quotes are quoted so lines stay parseable.
void append_text_value(std::string& out, std::string_view v) {
  if (!v.empty() && v.find_first_of(" \"=\n") == std::string_view::npos) {
    out += v;
  } else {
    append_json_string(out, v);
  }
}

}  // namespace

bool parse_level(std::string_view name, Level& out) {
  for (Level l :
       {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    if (name == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

bool parse_format(std::string_view name, Format& out) {
  if (name == "text")
    out = Format::kText;
  else if (name == "json")
    out = Format::kJson;
  else
    return false;
  return true;
}

void configure(const LogSettings& settings) {
  g_level.store(settings.level);
  g_format.store(settings.format);
}

void set_sink_for_testing(LineSink sink, void* context) {
  std::lock_guard lock(g_sink_mu);
  g_test_sink = sink;
  g_test_context = context;
}

void set_trace_ids_provider(TraceIdsProvider provider) { g_trace_provider.store(provider); }

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  TraceIds ids;
  const TraceIdsProvider provider = g_trace_provider.load(std::memory_order_acquire);
  const bool in_span = provider != nullptr && provider(ids);

  std::string line;
  line.reserve(128 + message.size());
  if (g_format.load(std::memory_order_relaxed) == Format::kJson) {
    line += "{\"ts\":\"";
    append_timestamp(line);
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"msg\":";
    append_json_string(line, message);
    if (in_span) {
      line += ",\"trace_id\":\"";
      line += ids.trace_id;
      line += "\",\"span_id\":\"";
      line += ids.span_id;
      line += '"';
    }
    for (const auto& f : fields) {
      line.push_back(',');
      append_json_string(line, f.key);
      line.push_back(':');
      append_json_string(line, f.value);
    }
    line.push_back('}');
  } else {
    append_timestamp(line);
    line.push_back(' ');
    line += level_label(level);
    if (in_span) {
      line += " trace=";
      line += ids.trace_id;
      line += " span=";
      line += ids.span_id;
    }
    line.push_back(' ');
    line += message;
    for (const auto& f : fields) {
      line.push_back(' ');
      line += f.key;
      line.push_back('=');
      append_text_value(line, f.value);
    }
  }

  {
    std::lock_guard lock(g_sink_mu);
    if (g_test_sink != nullptr) {
      g_test_sink(line, g_test_context);
      return;
    }
  }
  stderr_logger().log(spdlog::level::info, line);
}

}  // namespace seatflow::log
