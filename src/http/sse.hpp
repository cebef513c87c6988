// Server-Sent Events fan-out: topics, replay and backpressure.
//
// publish() formats an event once (`id:`, `event:`, `data:` lines) and hands
// the same bytes to every subscriber of its topic. Each topic keeps the last
// `replay_capacity` events, so a client that reconnects with Last-Event-ID
// gets what it missed; when the gap is older than the buffer (or the id is
// unknown, e.g. after a restart), it gets one `snapshot-needed` event and
// should reload its state.
//
// A subscriber that falls behind by more than `max_queued_bytes` is marked
// overflowed and disconnected by its connection (counted in
// seatflow_sse_slow_disconnects_total) instead of growing memory.
//
// Event ids are per topic, increasing from 1 in each process lifetime.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seatflow::metrics {
class Registry;
}

namespace seatflow::http {

struct SseOptions {
  size_t replay_capacity = 1024;
  size_t max_queued_bytes = size_t{256} * 1024;
  std::chrono::milliseconds heartbeat{15000};
};

using SseFrame = std::shared_ptr<const std::string>;

// One client's queue. Owned jointly by the hub and the connection.
class SseSubscription {
 public:
  // Moves queued frames into `out`. Returns false if the subscriber
  // overflowed and must be disconnected.
  bool take(std::vector<SseFrame>& out);

  // True once the subscriber fell too far behind; its connection must let
  // it go, even in the middle of a write the client is not reading.
  bool overflowed() const;

 private:
  friend class SseHub;

  mutable std::mutex mu_;
  std::vector<SseFrame> queue_;  // guarded by mu_
  size_t queued_bytes_ = 0;      // guarded by mu_
  bool overflowed_ = false;      // guarded by mu_
  std::function<void()> wake_;   // constant after subscribe()
  std::string topic_;            // constant after subscribe()
  size_t index_ = 0;             // position in its topic's list; guarded by the hub's mutex
};

class SseHub {
 public:
  SseHub(SseOptions options, metrics::Registry& registry);
  ~SseHub();

  const SseOptions& options() const { return options_; }

  // Returns the event's id.
  uint64_t publish(std::string_view topic, std::string_view type, std::string_view data);

  // The id of the newest event of `topic`, for a snapshot read after this
  // call: a client that subscribes with it as Last-Event-ID gets every event
  // published since, so it misses nothing that its snapshot may not show.
  // Never 0 (the first call on a topic reserves id 1 as its start), because
  // subscribing with 0 means "from now".
  uint64_t position(const std::string& topic);

  // Registers a subscriber of `topic`. Frames to replay (events after
  // `last_event_id`, or a snapshot-needed event) are queued at once. `wake`
  // is called (from the publisher's thread) when the queue goes from empty
  // to non-empty or overflows; it must be cheap and must not block.
  std::shared_ptr<SseSubscription> subscribe(const std::string& topic, uint64_t last_event_id,
                                             std::function<void()> wake);
  void unsubscribe(const std::shared_ptr<SseSubscription>& subscription);

  // Counted by connections: a slow client was dropped.
  void count_slow_disconnect();

  size_t subscriber_count() const;

  // The comment line sent as a heartbeat.
  static const SseFrame& heartbeat_frame();

  // "id: 7\nevent: seat\ndata: ...\n\n" (multi-line data becomes several data: lines).
  static std::string format(uint64_t id, std::string_view type, std::string_view data);

 private:
  struct Topic {
    uint64_t next_id = 1;
    std::vector<std::pair<uint64_t, SseFrame>> ring;  // last replay_capacity frames
    size_t ring_start = 0;                            // oldest entry once full
    std::vector<std::shared_ptr<SseSubscription>> subscribers;
  };
  struct Metrics;

  void enqueue(SseSubscription& sub, const SseFrame& frame) const;

  const SseOptions options_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, Topic> topics_;  // guarded by mu_
  size_t subscribers_ = 0;                         // guarded by mu_
};

}  // namespace seatflow::http
