// Test helpers: a span processor that keeps every ended span.
//
// Thread safety: SpanCollector is safe from any thread.
#pragma once

#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "trace/span.hpp"

namespace seatflow::trace::testing {

class SpanCollector final : public SpanProcessor {
 public:
  void on_end(SpanData&& span) override {
    std::lock_guard lock(mu_);
    spans_.push_back(std::move(span));
  }

  std::vector<SpanData> all() const {
    std::lock_guard lock(mu_);
    return spans_;
  }

  // The spans named `name`, in the order they ended.
  std::vector<SpanData> named(std::string_view name) const {
    std::lock_guard lock(mu_);
    std::vector<SpanData> out;
    for (const auto& s : spans_) {
      if (s.name == name) out.push_back(s);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<SpanData> spans_;
};

inline std::optional<AttributeValue> attribute(const SpanData& span, std::string_view key) {
  return span.attributes.find(key);
}

}  // namespace seatflow::trace::testing
