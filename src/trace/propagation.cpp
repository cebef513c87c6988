#include "trace/propagation.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace seatflow::trace {
void inject(const SpanContext& context, HeaderList& headers) {
  std::erase_if(headers, [](const auto& h) {
    return iequals(h.first, kTraceparentHeader) || iequals(h.first, kTracestateHeader);
  });
  if (!context.valid()) return;
  headers.emplace_back(kTraceparentHeader, format_traceparent(context));
  if (std::string state = context.trace_state.format(); !state.empty()) {
    headers.emplace_back(kTracestateHeader, std::move(state));
  }
}

std::optional<SpanContext> extract(const HeaderList& headers) {
  // As extract() of the lists, without a list of the one traceparent
  // (every consumed message comes here).
  std::string_view parent;
  int parents = 0;
  std::vector<std::string_view> states;
  for (const auto& [name, value] : headers) {
    if (iequals(name, kTraceparentHeader)) {
      parent = value;
      ++parents;
    }
    if (iequals(name, kTracestateHeader)) states.emplace_back(value);
  }
  if (parents != 1) return std::nullopt;  // none, or ambiguous: restart
  return extract_one(parent, states);
}

std::string to_text(const SpanContext& context) {
  if (!context.valid()) return {};
  std::string text = format_traceparent(context);
  if (std::string state = context.trace_state.format(); !state.empty()) {
    text.push_back(';');
    text += state;
  }
  return text;
}

std::optional<SpanContext> from_text(std::string_view text) {
  const size_t semicolon = text.find(';');
  std::vector<std::string_view> states;
  if (semicolon != std::string_view::npos) states.push_back(text.substr(semicolon + 1));
  return extract_one(text.substr(0, semicolon), states);
}

}  // namespace seatflow::trace
