#include "http/sse.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "metrics/registry.hpp"

namespace seatflow::http {

struct SseHub::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : connections(prometheus::BuildGauge()
                        .Name("seatflow_sse_connections")
                        .Help("Open Server-Sent Events streams")
                        .Register(r)
                        .Add({})),
        published(prometheus::BuildCounter()
                      .Name("seatflow_sse_events_published_total")
                      .Help("Events published to SSE topics")
                      .Register(r)
                      .Add({})),
        slow_disconnects(prometheus::BuildCounter()
                             .Name("seatflow_sse_slow_disconnects_total")
                             .Help("SSE clients disconnected because they could not keep up")
                             .Register(r)
                             .Add({})),
        snapshots_needed(prometheus::BuildCounter()
                             .Name("seatflow_sse_snapshot_needed_total")
                             .Help("Resumes whose gap was older than the replay buffer")
                             .Register(r)
                             .Add({})) {}

  prometheus::Gauge& connections;
  prometheus::Counter& published;
  prometheus::Counter& slow_disconnects;
  prometheus::Counter& snapshots_needed;
};

bool SseSubscription::take(std::vector<SseFrame>& out) {
  std::lock_guard lock(mu_);
  if (overflowed_) return false;
  for (auto& f : queue_) out.push_back(std::move(f));
  queue_.clear();
  queued_bytes_ = 0;
  return true;
}

bool SseSubscription::overflowed() const {
  std::lock_guard lock(mu_);
  return overflowed_;
}

SseHub::SseHub(SseOptions options, metrics::Registry& registry)
    : options_(options), metrics_(std::make_unique<Metrics>(registry.prometheus())) {}

SseHub::~SseHub() = default;

std::string SseHub::format(uint64_t id, std::string_view type, std::string_view data) {
  std::string frame;
  frame.reserve(data.size() + type.size() + 32);
  frame += "id: ";
  frame += std::to_string(id);
  frame += '\n';
  if (!type.empty()) {
    frame += "event: ";
    frame += type;
    frame += '\n';
  }
  size_t start = 0;
  while (true) {
    const size_t nl = data.find('\n', start);
    frame += "data: ";
    frame += data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    frame += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  frame += '\n';
  return frame;
}

const SseFrame& SseHub::heartbeat_frame() {
  static const SseFrame kFrame = std::make_shared<const std::string>(": heartbeat\n\n");
  return kFrame;
}

void SseHub::enqueue(SseSubscription& sub, const SseFrame& frame) const {
  bool wake = false;
  {
    std::lock_guard lock(sub.mu_);
    if (sub.overflowed_) return;
    if (sub.queued_bytes_ + frame->size() > options_.max_queued_bytes) {
      sub.overflowed_ = true;
      sub.queue_.clear();
      sub.queue_.shrink_to_fit();
      wake = true;
    } else {
      wake = sub.queue_.empty();
      sub.queue_.push_back(frame);
      sub.queued_bytes_ += frame->size();
    }
  }
  if (wake && sub.wake_) sub.wake_();
}

uint64_t SseHub::publish(std::string_view topic_name, std::string_view type,
                         std::string_view data) {
  std::lock_guard lock(mu_);
  Topic& topic = topics_[std::string(topic_name)];
  const uint64_t id = topic.next_id++;
  auto frame = std::make_shared<const std::string>(format(id, type, data));
  if (topic.ring.size() < options_.replay_capacity) {
    topic.ring.emplace_back(id, frame);
  } else if (options_.replay_capacity > 0) {
    topic.ring[topic.ring_start] = {id, frame};
    topic.ring_start = (topic.ring_start + 1) % topic.ring.size();
  }
  for (const auto& sub : topic.subscribers) enqueue(*sub, frame);
  metrics_->published.Increment();
  return id;
}

uint64_t SseHub::position(const std::string& topic_name) {
  std::lock_guard lock(mu_);
  Topic& topic = topics_[topic_name];
  if (topic.next_id == 1) topic.next_id = 2;
  return topic.next_id - 1;
}

std::shared_ptr<SseSubscription> SseHub::subscribe(const std::string& topic_name,
                                                   uint64_t last_event_id,
                                                   std::function<void()> wake) {
  auto sub = std::make_shared<SseSubscription>();
  sub->topic_ = topic_name;
  std::lock_guard lock(mu_);
  Topic& topic = topics_[topic_name];
  if (last_event_id > 0) {
    const uint64_t newest = topic.next_id - 1;
    const uint64_t oldest = topic.ring.empty() ? topic.next_id : topic.ring[topic.ring_start].first;
    if (last_event_id > newest || last_event_id + 1 < oldest) {
      metrics_->snapshots_needed.Increment();
      const std::string reason =
          last_event_id > newest ? "unknown Last-Event-ID" : "Last-Event-ID is too old to replay";
      sub->queue_.push_back(std::make_shared<const std::string>(
          format(newest, "snapshot-needed", R"({"reason":")" + reason + "\"}")));
    } else {
      const size_t n = topic.ring.size();
      for (size_t i = 0; i < n; ++i) {
        const auto& [id, frame] = topic.ring[(topic.ring_start + i) % n];
        if (id > last_event_id) {
          sub->queue_.push_back(frame);
          sub->queued_bytes_ += frame->size();
        }
      }
    }
  }
  sub->wake_ = std::move(wake);
  sub->index_ = topic.subscribers.size();
  topic.subscribers.push_back(sub);
  ++subscribers_;
  metrics_->connections.Increment();
  return sub;
}

void SseHub::unsubscribe(const std::shared_ptr<SseSubscription>& sub) {
  std::lock_guard lock(mu_);
  auto it = topics_.find(sub->topic_);
  if (it == topics_.end()) return;
  auto& subs = it->second.subscribers;
  const size_t i = sub->index_;
  if (i >= subs.size() || subs[i] != sub) return;
  subs[i] = std::move(subs.back());
  subs[i]->index_ = i;
  subs.pop_back();
  --subscribers_;
  metrics_->connections.Decrement();
}

void SseHub::count_slow_disconnect() { metrics_->slow_disconnects.Increment(); }

size_t SseHub::subscriber_count() const {
  std::lock_guard lock(mu_);
  return subscribers_;
}

}  // namespace seatflow::http
