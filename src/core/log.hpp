// Process-wide structured logging, in text or JSON lines, to stderr.
//
// Every line written while a span is current carries its ids: the tracing
// library registers a TraceIdsProvider at start-up, so this component does
// not depend on it. Text: `... INFO trace=<32 hex> span=<16 hex> message k=v`;
// JSON: {"ts":..,"level":..,"msg":..,"trace_id":..,"span_id":.., k: v}.
//
// Formatting is skipped entirely when a level is disabled. Sinks live in
// log.cpp so spdlog stays out of other translation units.
//
// Thread safety: every function may be called from any thread; configure()
// and set_trace_ids_provider() are meant for start-up.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace seatflow::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kText, kJson };

struct LogSettings {
  Level level = Level::kInfo;
  Format format = Format::kText;
};

// Returns false on an unknown name ("trace".."error", "off").
bool parse_level(std::string_view name, Level& out);
bool parse_format(std::string_view name, Format& out);

void configure(const LogSettings& settings);

// Sends lines to `sink` instead of stderr (tests). nullptr restores stderr.
using LineSink = void (*)(std::string_view line, void* context);
void set_sink_for_testing(LineSink sink, void* context);

struct TraceIds {
  char trace_id[33] = {};  // lowercase hex, NUL-terminated
  char span_id[17] = {};
};
// Fills `out` and returns true when a span is current on this thread.
using TraceIdsProvider = bool (*)(TraceIds& out);
void set_trace_ids_provider(TraceIdsProvider provider);

struct Field {
  std::string_view key;
  std::string value;
};

bool enabled(Level level);
void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

template <typename... Args>
void trace(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kTrace))
    write(Level::kTrace, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kDebug))
    write(Level::kDebug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(Level::kError))
    write(Level::kError, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace seatflow::log
