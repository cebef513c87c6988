// The OTLP/HTTP trace exporter (protobuf, or JSON): a SpanProcessor that batches ended
// spans on a background thread and POSTs them to an OTLP receiver
// (Jaeger, an OpenTelemetry Collector).
//
// on_end() only encodes the span into a bounded queue under a short lock:
// when the queue is full the span is dropped and counted, so a request never
// waits for the exporter. The thread sends a batch when it is full or every
// schedule_delay, retries 429/502/503/504 and transport failures with
// exponential backoff (honouring Retry-After), never retries other
// statuses, and flushes what is queued on shutdown within a deadline. The
// thread sends the requests itself, over a keep-alive connection of its own
// (http::BlockingClient): no other thread is woken for an export. It does
// not wait for an export's answer; it reads it before the next export (or
// soon after, when nothing else comes), so it sleeps once per export. In
// protobuf, a batch whose spans are all of one resource is sent from the
// queue's bytes without being copied into a request first.
//
// One process may host several services (the embedded mode): each gets its
// own processor_for(name), whose spans are exported under its own
// service.name by the same thread.
//
// Configuration follows the OpenTelemetry environment variables, see
// ExporterOptions::from_environment and docs/tracing.md.
//
// Thread safety: on_end() and the processors may be used from any thread;
// processor_for() is safe too, but meant for start-up.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.hpp"
#include "http/blocking_client.hpp"
#include "http/message.hpp"
#include "otlp/encoding.hpp"
#include "trace/span.hpp"

namespace seatflow::metrics {
class Registry;
}

namespace seatflow::http {
class HttpClient;
}

namespace seatflow::otlp {

struct ExporterOptions {
  std::string endpoint;  // the full URL, e.g. http://127.0.0.1:4318/v1/traces
  Protocol protocol = Protocol::kHttpProtobuf;  // OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL
  http::Headers headers;                        // sent with every request
  std::string service_name = "seatflow";
  std::string resource_attributes;            // OTEL_RESOURCE_ATTRIBUTES
  std::chrono::milliseconds timeout{10'000};  // per attempt
  size_t max_queue_size = 2048;
  size_t max_batch_size = 512;
  std::chrono::milliseconds schedule_delay{1'000};
  int max_attempts = 5;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};

  // nullopt when exporting is off: OTEL_TRACES_EXPORTER=none, or no endpoint
  // (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as is, or
  // OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces") and OTEL_TRACES_EXPORTER
  // unset. Also read: OTEL_SERVICE_NAME (else `default_service_name`),
  // OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_[TRACES_]HEADERS and
  // _TIMEOUT, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE,
  // OTEL_BSP_MAX_EXPORT_BATCH_SIZE. A value that cannot be used keeps the
  // default and adds a line to `warnings`.
  static std::optional<ExporterOptions> from_environment(std::string_view default_service_name,
                                                         std::vector<std::string>* warnings);
};

struct ExporterStats {
  uint64_t exported = 0;  // accepted by the receiver
  uint64_t dropped = 0;   // the queue was full
  uint64_t failed = 0;    // rejected, or given up on after retries
  uint64_t queued = 0;    // waiting in the queue for the worker to take them
};

class OtlpExporter final : public trace::SpanProcessor {
 public:
  // `registry` may be null; otherwise it gets the exporter's counters.
  OtlpExporter(ExporterOptions options, metrics::Registry* registry);
  ~OtlpExporter() override;  // shutdown(timeout)
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // A span of the options' service.
  void on_end(trace::SpanData&& span) override;
  void on_finished(const trace::FinishedSpan& span) override;

  // The processor for spans of another service in this process. The same
  // name returns the same processor; it lives as long as the exporter.
  trace::SpanProcessor& processor_for(std::string_view service_name);

  // Exports everything queued before the call. False if that did not finish
  // within `timeout`.
  bool force_flush(std::chrono::milliseconds timeout);

  // Exports what is queued, then stops the thread; a retry still waiting at
  // the deadline is given up. Later spans are dropped. Idempotent.
  void shutdown(std::chrono::milliseconds timeout);

  ExporterStats stats() const;

 private:
  // Queued spans: their encodings one after the other in `bytes`, so that
  // queueing a span allocates nothing once the buffers have grown. In
  // protobuf each is framed as a request's ScopeSpans.spans field (tag and
  // length before it), and `bytes` starts with room for a request's head:
  // a batch of one resource is sent from the queue as it is, its head
  // written just before its first span (see export_items()).
  struct Item {
    uint32_t resource = 0;
    uint32_t size = 0;  // of the span, without its frame
    size_t offset = 0;  // of the span, into Queue::bytes
  };
  struct Queue {
    std::vector<Item> items;
    ByteBuffer bytes;
    std::string_view span(const Item& item) const {
      return {bytes.data() + item.offset, item.size};
    }
    size_t size() const { return items.size(); }
    bool empty() const { return items.empty(); }
    void clear() {
      items.clear();
      bytes.clear();
    }
  };
  class ServiceProcessor;
  struct Metrics;

  // Encodes `span` (SpanData or FinishedSpan) into the queue.
  template <typename Span>
  void enqueue(uint32_t resource, const Span& span);
  void run();
  // Exports `items` a batch at a time; the last batch's answer is left to
  // settle(). At most one export is in flight.
  void export_items(Queue& items);
  // Sends request_ (`spans` spans) with body_ without waiting for its answer.
  void start(size_t spans);
  // Reads the answer of the export in flight, if any, retries it as the
  // answer asks and counts its spans.
  void settle();
  // Retries request_, whose first attempt had `response`, until an answer
  // ends it; returns how many spans were rejected.
  uint64_t retry(Result<http::ClientResponse> response, size_t spans);
  // Waits up to `delay`, cut short by the shutdown deadline. False when the
  // deadline leaves no time for it.
  bool wait_before_retry(std::chrono::milliseconds delay);
  // Gives request_ the timeout of its next attempt: the options', cut by
  // the shutdown deadline. False when that deadline has passed.
  bool set_attempt_deadline();
  void count(uint64_t exported, uint64_t dropped, uint64_t failed);

  const ExporterOptions options_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the worker: work, flush or stop
  std::condition_variable flushed_;  // force_flush() callers
  Queue queue_;
  std::deque<Resource> resources_;  // index = Item::resource
  std::deque<std::pair<std::string, std::unique_ptr<ServiceProcessor>>> processors_;
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point shutdown_deadline_;

  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failed_{0};
  // Worker thread only.
  bool warned_ = false;  // one warning per failure streak
  http::BlockingClient client_;
  // The export in flight (its body kept for retries until its answer is
  // read: request_.body, or bytes of the queue being exported) and the
  // next one's body; both buffers are reused, and keep the capacity of the
  // largest batch.
  http::ClientRequest request_;
  std::string_view body_;
  std::string next_body_;
  std::string head_;                  // a request's head before spans sent from the queue
  Queue held_;                        // the queue the export in flight is sent from, if any
  size_t in_flight_ = 0;              // spans in request_ whose answer is unread; 0: none
  std::optional<Error> start_error_;  // why request_ could not be sent, if it could not
  std::mutex join_mutex_;             // serializes shutdown() callers joining the worker
  std::thread worker_;
};

}  // namespace seatflow::otlp
