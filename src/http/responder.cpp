#include "http/responder.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace seatflow::http {

void run_send_hooks(SendHooks& hooks, Response& response) {
  if (hooks.empty()) return;
  response.answered_at = std::chrono::steady_clock::now();
  std::for_each(hooks.rbegin(), hooks.rend(), [&](auto& hook) { hook(response); });
  hooks.clear();
}

Responder::~Responder() {
  if (sink_ != nullptr) send(problem(500, "the handler did not answer"));
}

void Responder::send(Response response) {
  if (sink_ == nullptr) return;
  auto sink = std::move(sink_);
  sink_ = nullptr;
  sink->deliver(std::move(response), std::move(hooks_));
}

uint64_t last_event_id(const Request& request) {
  const auto parse = [](std::string_view text) -> std::optional<uint64_t> {
    uint64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return id;
  };
  if (auto header = request.header("Last-Event-ID")) {
    if (auto id = parse(*header)) return *id;
  }
  if (auto query = request.query_param("last_event_id")) {
    if (auto id = parse(*query)) return *id;
  }
  return 0;
}

void Responder::stream_events(SseHub& hub, std::string topic, uint64_t last_event_id,
                              Response headers) {
  if (sink_ == nullptr) return;
  headers.status = 200;
  headers.headers.set("Content-Type", "text/event-stream");
  headers.headers.set("Cache-Control", "no-cache");
  headers.headers.set("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
  auto sink = std::move(sink_);
  sink_ = nullptr;
  sink->deliver_stream(std::move(headers), std::move(hooks_), hub, std::move(topic), last_event_id);
}

}  // namespace seatflow::http
