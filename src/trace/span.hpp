// Spans, the tracer that starts them, and the current context.
//
// A Span is a move-only handle that ends itself when destroyed. A span that
// the sampler dropped still has a context (so the trace propagates) but
// records nothing and costs almost nothing. Ended spans go to a
// SpanProcessor (the OTLP exporter's batcher, or a test's collector).
//
// The current context is per thread. A Scope makes a context current for a
// synchronous stretch of code; it must not live across a co_await or a hop
// to another thread. To carry the context across a hop, capture it
// (current_context()) and open a Scope on the other side, or wrap the
// callback with bind_context().
//
// Names and attributes follow the OpenTelemetry semantic conventions; see
// semconv.hpp for the keys Seatflow uses.
//
// Thread safety: a Span belongs to one thread at a time. Tracer is safe to
// use from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "trace/attributes.hpp"
#include "trace/trace_context.hpp"

namespace seatflow::trace {

// OTLP's enum values.
enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };
enum class StatusCode : int { kUnset = 0, kOk = 1, kError = 2 };

struct SpanEvent {
  std::string name;
  int64_t time_unix_ns = 0;
  std::vector<Attribute> attributes;
};

struct SpanLink {
  SpanContext context;
  std::vector<Attribute> attributes;
};

// Everything an exporter needs about one ended span.
struct SpanData {
  SpanContext context;
  SpanId parent_span_id;  // all zero for a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  AttributeList attributes;
  std::vector<SpanEvent> events;
  std::vector<SpanLink> links;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;
};

// A span recorded in one piece when it ends, by a caller that knows all of
// it then: the HTTP server span, on every request (see
// Tracer::start_context). Its attributes are written by `attributes`
// straight into what the processor keeps, the exporter's queue, with no
// SpanData filled and copied on the way. It has no events or links.
struct FinishedSpan {
  const SpanContext* context = nullptr;
  SpanId parent_span_id;  // all zero for a root span
  std::string_view name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  StatusCode status = StatusCode::kUnset;
  // Writes the attributes (distinct keys), given `arg`.
  void (*attributes)(AttributeWriter& out, const void* arg) = nullptr;
  const void* arg = nullptr;

  // The same span as SpanData.
  SpanData to_data() const;
};

class SpanProcessor {
 public:
  virtual ~SpanProcessor() = default;
  // Called once per sampled span when it ends, on the ending thread. Must not block.
  virtual void on_end(SpanData&& span) = 0;
  // The same for a span recorded in one piece. By default, on_end() of
  // its SpanData.
  virtual void on_finished(const FinishedSpan& span) { on_end(span.to_data()); }
};

class Span {
 public:
  Span() = default;  // an invalid, non-recording span
  Span(SpanContext context, std::unique_ptr<SpanData> data, SpanProcessor* processor)
      : context_(std::move(context)), data_(std::move(data)), processor_(processor) {}
  Span(Span&& other) noexcept = default;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { end(); }

  const SpanContext& context() const { return context_; }
  bool recording() const { return data_ != nullptr; }

  // Any integer becomes int64, any floating point double; strings and bools
  // stay. Setting a key again replaces its value.
  template <typename T>
  Span& set_attribute(std::string_view key, const T& value) {
    if (data_ == nullptr) return *this;
    if constexpr (std::is_same_v<T, AttributeValue>) {
      data_->attributes.set(key, value);
    } else if constexpr (std::is_same_v<T, bool>) {
      data_->attributes.set_bool(key, value);
    } else if constexpr (std::is_integral_v<T>) {
      data_->attributes.set_int(key, static_cast<int64_t>(value));
    } else if constexpr (std::is_floating_point_v<T>) {
      data_->attributes.set_double(key, static_cast<double>(value));
    } else {
      data_->attributes.set_text(key, std::string_view(value));
    }
    return *this;
  }
  // Sets every attribute of `attributes` (see AttributeList::set_all).
  Span& set_attributes(const AttributeList& attributes) {
    if (data_ != nullptr) data_->attributes.set_all(attributes);
    return *this;
  }
  Span& add_event(std::string_view name, std::vector<Attribute> attributes = {});
  Span& add_link(const SpanContext& context, std::vector<Attribute> attributes = {});
  Span& set_status(StatusCode code, std::string_view message = {});
  void update_name(std::string_view name);

  // Ends the span (once); later calls do nothing. `end_unix_ns` is when it
  // ended, for a caller that has just read the clock anyway (0: now); an end
  // before the start becomes the start.
  void end(int64_t end_unix_ns = 0);

 private:
  SpanContext context_;
  std::unique_ptr<SpanData> data_;  // null when not sampled or ended
  SpanProcessor* processor_ = nullptr;
};

// OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.
struct Sampler {
  enum class Root { kAlwaysOn, kAlwaysOff, kRatio };
  Root root = Root::kAlwaysOn;
  double ratio = 1.0;
  bool parent_based = true;

  // parentbased_always_on when the variables are unset; an unknown name
  // falls back to it too, and `warning` says why.
  static Sampler from_environment(std::string* warning = nullptr);

  bool sample(const SpanContext* parent, const TraceId& trace_id) const;
};

struct StartOptions {
  SpanKind kind = SpanKind::kInternal;
  // The parent; without one, the current context (if any) is the parent.
  std::optional<SpanContext> parent;
  bool root = false;  // ignore the current context: start a new trace
  // When the span started, for a caller that has read the clock already
  // (see unix_ns()); 0: now.
  int64_t start_unix_ns = 0;
  std::vector<SpanLink> links;
  std::vector<Attribute> attributes;
};

class Tracer {
 public:
  // `processor` may be null: spans then propagate but record nothing. It
  // must outlive the tracer.
  Tracer(Sampler sampler, SpanProcessor* processor);

  Span start_span(std::string_view name, StartOptions options = {}) const;

  // For a span that the caller records in one piece when it ends, through
  // finish(): its context (propagated as a span's), decided by the sampler
  // as start_span() does (options' kind, links and attributes are not
  // used), and the parent's span id, if it has a parent. The span is to be
  // finished only if the context is sampled and records() holds.
  SpanContext start_context(const StartOptions& options, SpanId* parent_span_id) const;
  // Hands such a span to the processor.
  void finish(const FinishedSpan& span) const {
    if (processor_ != nullptr) processor_->on_finished(span);
  }

  // Whether a sampled span is recorded at all (there is a processor): a span
  // that only a recording would need can be skipped when not.
  bool records() const { return processor_ != nullptr; }

 private:
  const Sampler sampler_;
  SpanProcessor* const processor_;
};

// Random ids from a fast per-thread generator.
TraceId new_trace_id();
SpanId new_span_id();

int64_t now_unix_ns();
// `at` as nanoseconds since the Unix epoch: the system clock's reading at
// the steady clock's `at`, by the offset between the two clocks that this
// thread read at most a second ago. A caller that has a steady reading
// already (an HTTP request's arrival, say) saves reading the clock again;
// a step of the system clock shows within a second.
int64_t unix_ns(std::chrono::steady_clock::time_point at);

// The context current on this thread, if any.
const SpanContext* current_context();

class Scope {
 public:
  explicit Scope(SpanContext context);
  explicit Scope(const Span& span) : Scope(span.context()) {}
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const SpanContext* previous_;
  SpanContext context_;
};

// Wraps `fn` so that, wherever and whenever it runs, the context current
// now is current while it runs.
template <typename F>
auto bind_context(F fn) {
  std::optional<SpanContext> captured;
  if (const SpanContext* c = current_context()) captured = *c;
  return [captured = std::move(captured), fn = std::move(fn)](auto&&... args) mutable {
    if (!captured) return fn(std::forward<decltype(args)>(args)...);
    Scope scope(*captured);
    return fn(std::forward<decltype(args)>(args)...);
  };
}

// Registers the current context as the source of trace ids in every log line.
void install_log_context();

}  // namespace seatflow::trace
