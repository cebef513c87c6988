#include "otlp/exporter.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <type_traits>

#include <fmt/core.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "metrics/registry.hpp"
#include "trace/wire.hpp"

namespace seatflow::otlp {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// How long after an export the worker, with nothing else to do, reads its
// answer: a receiver answers within milliseconds.
constexpr milliseconds kReadAnswerAfter{50};

// Room at the start of a protobuf queue for the head of a request (its
// resource and scope), written there when the first batch is sent from the
// queue. A head that does not fit (many resource attributes) is copied
// with the spans instead.
constexpr size_t kHeadRoom = 1024;

std::string_view env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string_view{} : std::string_view(value);
}

// The first non-empty of two variables: the traces-specific one wins.
std::pair<const char*, std::string_view> env_either(const char* specific, const char* general) {
  if (auto v = env(specific); !v.empty()) return {specific, v};
  return {general, env(general)};
}

std::optional<int64_t> parse_non_negative(std::string_view text) {
  int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 0) return std::nullopt;
  return value;
}

void read_integer(const char* name, std::string_view value, int64_t minimum, auto& target,
                  std::vector<std::string>* warnings) {
  if (value.empty()) return;
  auto parsed = parse_non_negative(value);
  if (!parsed || *parsed < minimum) {
    if (warnings != nullptr) {
      warnings->push_back(
          fmt::format("{}={:?} is not an integer >= {}; using the default", name, value, minimum));
    }
    return;
  }
  using Target = std::decay_t<decltype(target)>;
  if constexpr (std::is_same_v<Target, milliseconds>) {
    target = milliseconds(*parsed);
  } else {
    target = static_cast<Target>(*parsed);
  }
}

// "k1=v1,k2=v2" with percent-encoded values (OTEL_EXPORTER_OTLP_HEADERS).
void read_headers(std::string_view list, http::Headers& headers) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view member = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    const size_t eq = member.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    auto value = http::percent_decode(member.substr(eq + 1));
    if (value) headers.set(std::string(member.substr(0, eq)), std::move(*value));
  }
}

// Retry-After as delta-seconds or an HTTP date.
std::optional<milliseconds> parse_retry_after(std::string_view value) {
  if (auto seconds = parse_non_negative(value)) return milliseconds(*seconds * 1000);
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  const auto delta =
      std::chrono::duration_cast<milliseconds>(at - std::chrono::system_clock::now());
  return std::max(delta, milliseconds(0));
}

bool retryable_status(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

std::optional<ExporterOptions> ExporterOptions::from_environment(
    std::string_view default_service_name, std::vector<std::string>* warnings) {
  const auto warn = [warnings](std::string message) {
    if (warnings != nullptr) warnings->push_back(std::move(message));
  };
  const std::string_view exporter = env("OTEL_TRACES_EXPORTER");
  if (exporter == "none") return std::nullopt;
  if (!exporter.empty() && exporter != "otlp") {
    warn(
        fmt::format("OTEL_TRACES_EXPORTER={:?} is not supported (only otlp and none); traces "
                    "are not exported",
                    exporter));
    return std::nullopt;
  }

  ExporterOptions options;
  if (auto specific = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); !specific.empty()) {
    options.endpoint = specific;
  } else if (auto general = env("OTEL_EXPORTER_OTLP_ENDPOINT"); !general.empty()) {
    while (!general.empty() && general.back() == '/') general.remove_suffix(1);
    options.endpoint = std::string(general) + "/v1/traces";
  } else if (exporter == "otlp") {
    options.endpoint = "http://localhost:4318/v1/traces";
  } else {
    return std::nullopt;
  }
  if (!options.endpoint.starts_with("http://")) {
    warn(fmt::format("the OTLP endpoint {:?} is not http://; traces are not exported",
                     options.endpoint));
    return std::nullopt;
  }
  if (auto [name, protocol] =
          env_either("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL");
      protocol == "http/json") {
    options.protocol = Protocol::kHttpJson;
  } else if (!protocol.empty() && protocol != "http/protobuf") {
    warn(
        fmt::format("{}={:?}: only http/protobuf and http/json are supported; exporting with "
                    "http/protobuf",
                    name, protocol));
  }

  if (auto name = env("OTEL_SERVICE_NAME"); !name.empty()) {
    options.service_name = name;
  } else {
    options.service_name = default_service_name;
  }
  options.resource_attributes = env("OTEL_RESOURCE_ATTRIBUTES");
  read_headers(env("OTEL_EXPORTER_OTLP_HEADERS"), options.headers);
  read_headers(env("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), options.headers);

  auto [timeout_name, timeout] =
      env_either("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT");
  read_integer(timeout_name, timeout, 1, options.timeout, warnings);
  read_integer("OTEL_BSP_SCHEDULE_DELAY", env("OTEL_BSP_SCHEDULE_DELAY"), 1, options.schedule_delay,
               warnings);
  read_integer("OTEL_BSP_MAX_QUEUE_SIZE", env("OTEL_BSP_MAX_QUEUE_SIZE"), 1, options.max_queue_size,
               warnings);
  read_integer("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), 1,
               options.max_batch_size, warnings);
  if (options.max_batch_size > options.max_queue_size) {
    warn(
        fmt::format("OTEL_BSP_MAX_EXPORT_BATCH_SIZE ({}) exceeds OTEL_BSP_MAX_QUEUE_SIZE ({}); "
                    "using the queue size",
                    options.max_batch_size, options.max_queue_size));
    options.max_batch_size = options.max_queue_size;
  }
  return options;
}

struct OtlpExporter::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : family(prometheus::BuildCounter()
                   .Name("seatflow_trace_spans_total")
                   .Help("Ended spans handed to the OTLP exporter, by outcome: exported "
                         "(accepted by the receiver), dropped (queue full), failed (rejected or "
                         "given up after retries)")
                   .Register(r)),
        exported(family.Add({{"outcome", "exported"}})),
        dropped(family.Add({{"outcome", "dropped"}})),
        failed(family.Add({{"outcome", "failed"}})) {}
  prometheus::Family<prometheus::Counter>& family;
  prometheus::Counter& exported;
  prometheus::Counter& dropped;
  prometheus::Counter& failed;
};

class OtlpExporter::ServiceProcessor final : public trace::SpanProcessor {
 public:
  ServiceProcessor(OtlpExporter& exporter, uint32_t resource)
      : exporter_(exporter), resource_(resource) {}
  void on_end(trace::SpanData&& span) override { exporter_.enqueue(resource_, span); }
  void on_finished(const trace::FinishedSpan& span) override { exporter_.enqueue(resource_, span); }

 private:
  OtlpExporter& exporter_;
  const uint32_t resource_;
};

OtlpExporter::OtlpExporter(ExporterOptions options, metrics::Registry* registry)
    : options_(std::move(options)),
      client_(http::ClientOptions{.default_deadline = options_.timeout}) {
  request_.method = http::Method::kPost;
  request_.url = options_.endpoint;
  request_.headers = options_.headers;
  request_.headers.set("Content-Type", std::string(content_type(options_.protocol)));
  if (registry != nullptr) metrics_ = std::make_unique<Metrics>(registry->prometheus());
  resources_.push_back(Resource::make(options_.service_name, options_.resource_attributes));
  queue_.items.reserve(std::min<size_t>(options_.max_queue_size, 4096));
  worker_ = std::thread([this] { run(); });
}

OtlpExporter::~OtlpExporter() { shutdown(options_.timeout); }

void OtlpExporter::on_end(trace::SpanData&& span) { enqueue(0, span); }

void OtlpExporter::on_finished(const trace::FinishedSpan& span) { enqueue(0, span); }

trace::SpanProcessor& OtlpExporter::processor_for(std::string_view service_name) {
  std::lock_guard lock(mutex_);
  for (auto& [name, processor] : processors_) {
    if (name == service_name) return *processor;
  }
  resources_.push_back(Resource::make(service_name, options_.resource_attributes));
  const auto index = static_cast<uint32_t>(resources_.size() - 1);
  processors_.emplace_back(std::string(service_name),
                           std::make_unique<ServiceProcessor>(*this, index));
  return *processors_.back().second;
}

template <typename Span>
void OtlpExporter::enqueue(uint32_t resource, const Span& span) {
  if constexpr (std::is_same_v<Span, trace::FinishedSpan>) {
    if (options_.protocol != Protocol::kHttpProtobuf) {
      enqueue(resource, span.to_data());  // JSON is written from SpanData
      return;
    }
  }
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.max_queue_size) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      if (metrics_) metrics_->dropped.Increment();
      return;
    }
    // Encoded straight into the queue, while the span is hot in this
    // thread's cache: encoding it into a buffer of this thread's first and
    // copying that in cost a traced request 2.6 % more CPU, for a lock held
    // a memcpy shorter. Its data is freed by the thread that allocated it.
    size_t offset = queue_.bytes.size();
    if (options_.protocol == Protocol::kHttpProtobuf) {
      if (offset == 0) offset = kHeadRoom;
      queue_.bytes.resize(offset);
      offset += encode_framed_span_protobuf(span, queue_.bytes);
    } else if constexpr (std::is_same_v<Span, trace::SpanData>) {
      encode_span(span, queue_.bytes, options_.protocol);
    }
    queue_.items.push_back({resource, static_cast<uint32_t>(queue_.bytes.size() - offset), offset});
    wake = queue_.size() == options_.max_batch_size;
  }
  if (wake) wake_.notify_one();
}

bool OtlpExporter::force_flush(milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!worker_.joinable()) return queue_.empty();
  const uint64_t ticket = ++flush_requested_;
  wake_.notify_one();
  return flushed_.wait_for(lock, timeout, [&] { return flush_done_ >= ticket; });
}

void OtlpExporter::shutdown(milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      // Another caller is shutting down (or did); wait for it below.
    } else {
      stopping_ = true;
      shutdown_deadline_ = SteadyClock::now() + timeout;
    }
  }
  wake_.notify_all();
  std::lock_guard join(join_mutex_);
  if (worker_.joinable()) worker_.join();
}

ExporterStats OtlpExporter::stats() const {
  ExporterStats stats{exported_.load(std::memory_order_relaxed),
                      dropped_.load(std::memory_order_relaxed),
                      failed_.load(std::memory_order_relaxed)};
  std::lock_guard lock(mutex_);
  stats.queued = queue_.size();
  return stats;
}

void OtlpExporter::count(uint64_t exported, uint64_t dropped, uint64_t failed) {
  exported_.fetch_add(exported, std::memory_order_relaxed);
  dropped_.fetch_add(dropped, std::memory_order_relaxed);
  failed_.fetch_add(failed, std::memory_order_relaxed);
  if (metrics_) {
    metrics_->exported.Increment(static_cast<double>(exported));
    metrics_->dropped.Increment(static_cast<double>(dropped));
    metrics_->failed.Increment(static_cast<double>(failed));
  }
}

void OtlpExporter::run() {
  set_thread_name("otlp-export");
  Queue items;
  std::unique_lock lock(mutex_);
  const auto due = [&] {
    return stopping_ || queue_.size() >= options_.max_batch_size || flush_requested_ > flush_done_;
  };
  auto export_at = SteadyClock::now() + options_.schedule_delay;
  for (;;) {
    // With an export in flight, wake soon to read its answer, which will
    // have arrived by then: the worker neither waits on the socket nor is
    // woken by it.
    const auto until =
        in_flight_ == 0 ? export_at : std::min(export_at, SteadyClock::now() + kReadAnswerAfter);
    wake_.wait_until(lock, until, due);
    if (!due() && SteadyClock::now() < export_at) {
      lock.unlock();
      settle();
      lock.lock();
      continue;
    }
    export_at = SteadyClock::now() + options_.schedule_delay;
    const uint64_t flush_ticket = flush_requested_;
    const bool flushing = flush_ticket > flush_done_;
    std::swap(items, queue_);
    const bool stop = stopping_;
    lock.unlock();
    if (!items.empty()) export_items(items);
    // The last export's answer is read before the next export, or now when
    // a flush or the shutdown waits for it, or when the schedule delay
    // passed with nothing new to send.
    if (flushing || stop || items.empty()) settle();
    // An export in flight from `items`' bytes keeps them until its answer
    // is read (a retry resends them); the producers get the spare instead.
    if (in_flight_ != 0 && !items.bytes.empty() && body_.data() >= items.bytes.data() &&
        body_.data() < items.bytes.data() + items.bytes.size()) {
      std::swap(items, held_);
    }
    items.clear();
    lock.lock();
    if (queue_.empty() || stop) {
      flush_done_ = std::max(flush_done_, flush_ticket);
      flushed_.notify_all();
    }
    if (stop && queue_.empty()) break;
  }
  // Anything still queued at this point arrived after the deadline passed.
  dropped_.fetch_add(queue_.size(), std::memory_order_relaxed);
  if (metrics_) metrics_->dropped.Increment(static_cast<double>(queue_.size()));
  queue_.clear();
  flush_done_ = flush_requested_;
  flushed_.notify_all();
}

void OtlpExporter::export_items(Queue& items) {
  std::vector<ResourceBatch> batches;
  {
    std::lock_guard lock(mutex_);
    for (const auto& r : resources_) batches.push_back({&r, {}});
  }
  for (size_t begin = 0; begin < items.size(); begin += options_.max_batch_size) {
    const size_t end = std::min(items.size(), begin + options_.max_batch_size);
    if (options_.protocol == Protocol::kHttpProtobuf) {
      // One resource: the spans are sent from the queue as they are, after
      // the request's head, written over what comes before the first
      // (room left for it, or the previous batch, whose answer is read
      // first).
      const auto& first = items.items[begin];
      const auto& last = items.items[end - 1];
      const bool one_resource =
          std::all_of(items.items.begin() + static_cast<std::ptrdiff_t>(begin),
                      items.items.begin() + static_cast<std::ptrdiff_t>(end),
                      [&](const Item& item) { return item.resource == first.resource; });
      const size_t spans_begin = first.offset - 1 - trace::wire::varint_size(first.size);
      const size_t spans_end = last.offset + last.size;
      const Resource* resource = nullptr;
      if (one_resource) {
        std::lock_guard lock(mutex_);
        resource = &resources_[first.resource];
      }
      if (resource != nullptr) {
        encode_export_request_head_protobuf(*resource, spans_end - spans_begin, head_);
      }
      if (resource != nullptr && head_.size() <= spans_begin) {
        settle();
        char* body = items.bytes.data() + spans_begin - head_.size();
        std::memcpy(body, head_.data(), head_.size());
        body_ = {body, spans_end - spans_begin + head_.size()};
        start(end - begin);
        continue;
      }
    }
    // Group the batch's spans by resource, keeping their order.
    for (auto& batch : batches) batch.spans.clear();
    for (size_t i = begin; i < end; ++i) {
      batches[items.items[i].resource].spans.push_back(items.span(items.items[i]));
    }
    std::vector<ResourceBatch> nonempty;
    for (const auto& batch : batches) {
      if (!batch.spans.empty()) nonempty.push_back(batch);
    }
    // Encoded once, into the spare body; then the previous export's answer,
    // which has had the encoding's time to arrive, is read, and this one
    // takes its place.
    encode_export_request(nonempty, next_body_, options_.protocol);
    settle();
    std::swap(request_.body, next_body_);
    body_ = request_.body;
    start(end - begin);
  }
}

void OtlpExporter::start(size_t spans) {
  in_flight_ = spans;
  if (!set_attempt_deadline()) {
    start_error_ = Error(ErrorCode::kDeadlineExceeded, "the shutdown deadline passed");
    return;
  }
  if (auto started = client_.start(request_, body_); !started) {
    start_error_ = started.error();
  } else {
    start_error_.reset();
  }
}

void OtlpExporter::settle() {
  if (in_flight_ == 0) return;
  const size_t spans = in_flight_;
  in_flight_ = 0;
  auto answer = start_error_ ? Result<http::ClientResponse>(fail(*start_error_)) : client_.finish();
  start_error_.reset();
  const uint64_t rejected = std::min<uint64_t>(retry(std::move(answer), spans), spans);
  count(spans - rejected, 0, rejected);
}

uint64_t OtlpExporter::retry(Result<http::ClientResponse> response, size_t spans) {
  thread_local std::minstd_rand random(std::random_device{}());
  milliseconds backoff = options_.backoff_initial;
  for (int attempt = 1;; ++attempt) {
    std::string failure;
    std::optional<milliseconds> retry_after;
    if (response && response->status >= 200 && response->status < 300) {
      if (warned_) log::info("OTLP export to {} works again", options_.endpoint);
      warned_ = false;
      return rejected_spans(response->body, options_.protocol);
    }
    if (!response) {
      failure = response.error().message();
    } else {
      failure = fmt::format("HTTP {}: {}", response->status, response->body.substr(0, 200));
      if (!retryable_status(response->status)) {
        log::warn("OTLP export to {} refused {} spans, not retrying: {}", options_.endpoint, spans,
                  failure);
        return spans;
      }
      if (auto header = response->headers.get("Retry-After")) {
        retry_after = parse_retry_after(*header);
      }
    }
    milliseconds delay = retry_after.value_or(milliseconds(0));
    if (!retry_after) {
      // Full jitter: anywhere up to the current backoff.
      delay = milliseconds(std::uniform_int_distribution<int64_t>(
          backoff.count() / 2, std::max<int64_t>(backoff.count(), 1))(random));
      backoff = std::min(backoff * 2, options_.backoff_max);
    }
    if (attempt >= options_.max_attempts || !wait_before_retry(delay)) {
      if (!warned_) {
        log::warn("OTLP export to {} failed, {} spans lost after {} attempts: {}",
                  options_.endpoint, spans, attempt, failure);
      }
      warned_ = true;
      return spans;
    }
    if (!set_attempt_deadline()) {
      log::warn("OTLP export: {} spans lost, the shutdown deadline passed", spans);
      return spans;
    }
    response = client_.send(request_, body_);
  }
}

bool OtlpExporter::set_attempt_deadline() {
  std::lock_guard lock(mutex_);
  request_.deadline = options_.timeout;
  if (stopping_) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(shutdown_deadline_ - SteadyClock::now());
    request_.deadline = std::min(options_.timeout, left);
  }
  return request_.deadline > milliseconds(0);
}

bool OtlpExporter::wait_before_retry(milliseconds delay) {
  std::unique_lock lock(mutex_);
  const auto until = SteadyClock::now() + delay;
  // Woken early only by shutdown, which may leave less time than the delay.
  wake_.wait_until(lock, until, [&] { return stopping_; });
  if (!stopping_) return true;
  if (until > shutdown_deadline_) return false;
  lock.unlock();
  std::this_thread::sleep_until(until);
  return true;
}

}  // namespace seatflow::otlp
