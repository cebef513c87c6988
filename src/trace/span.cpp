#include "trace/span.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "core/log.hpp"

namespace seatflow::trace {
namespace {

thread_local const SpanContext* t_current = nullptr;

// xoshiro256**, seeded per thread from the OS: ids must be unpredictable
// enough not to collide, and cheap on the hot path.
class IdGenerator {
 public:
  IdGenerator() {
    std::random_device device;
    for (auto& word : state_) {
      word = (static_cast<uint64_t>(device()) << 32) ^ device();
      if (word == 0) word = 0x9e3779b97f4a7c15ull;
    }
  }
  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

IdGenerator& generator() {
  thread_local IdGenerator g;
  return g;
}

// Big-endian, as one store.
void put_u64(uint8_t* out, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(out, &v, sizeof v);
}

// Ended spans' data, kept per thread for the next span to reuse: a span then
// costs no allocation for its data or its attribute list once the thread has
// made a few. Spans may end on another thread than the one that started
// them; each thread's pool is bounded, so the imbalance costs allocations,
// not memory.
class SpanDataPool {
 public:
  std::unique_ptr<SpanData> acquire() {
    if (free_.empty()) return std::make_unique<SpanData>();
    auto data = std::move(free_.back());
    free_.pop_back();
    return data;
  }
  void recycle(std::unique_ptr<SpanData> data) {
    if (free_.size() >= kMaxFree) return;
    data->context = {};
    data->parent_span_id = {};
    data->name.clear();
    data->kind = SpanKind::kInternal;
    data->attributes.clear();  // keeps its capacity
    data->events.clear();
    data->links.clear();
    data->status = StatusCode::kUnset;
    data->status_message.clear();
    free_.push_back(std::move(data));
  }

 private:
  static constexpr size_t kMaxFree = 256;
  std::vector<std::unique_ptr<SpanData>> free_;
};

SpanDataPool& pool() {
  thread_local SpanDataPool p;
  return p;
}

bool log_ids(log::TraceIds& out) {
  const SpanContext* c = t_current;
  if (c == nullptr || !c->valid()) return false;
  const std::string trace = c->trace_id.hex();
  const std::string span = c->span_id.hex();
  std::memcpy(out.trace_id, trace.c_str(), 33);
  std::memcpy(out.span_id, span.c_str(), 17);
  return true;
}

}  // namespace

TraceId new_trace_id() {
  TraceId id;
  do {
    put_u64(id.bytes.data(), generator().next());
    put_u64(id.bytes.data() + 8, generator().next());
  } while (!id.valid());
  return id;
}

SpanId new_span_id() {
  SpanId id;
  do {
    put_u64(id.bytes.data(), generator().next());
  } while (!id.valid());
  return id;
}

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t unix_ns(std::chrono::steady_clock::time_point at) {
  using std::chrono::steady_clock;
  struct Anchor {
    steady_clock::time_point steady;
    int64_t offset_ns = 0;  // system minus steady
  };
  thread_local Anchor anchor;
  const auto ns = [](steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  };
  if (anchor.steady == steady_clock::time_point{} || at - anchor.steady > std::chrono::seconds(1)) {
    anchor.steady = steady_clock::now();
    anchor.offset_ns = now_unix_ns() - ns(anchor.steady);
  }
  return ns(at) + anchor.offset_ns;
}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    context_ = std::move(other.context_);
    data_ = std::move(other.data_);
    processor_ = other.processor_;
  }
  return *this;
}

Span& Span::add_event(std::string_view name, std::vector<Attribute> attributes) {
  if (data_ != nullptr) {
    data_->events.push_back({std::string(name), now_unix_ns(), std::move(attributes)});
  }
  return *this;
}

Span& Span::add_link(const SpanContext& context, std::vector<Attribute> attributes) {
  if (data_ != nullptr && context.valid()) {
    data_->links.push_back({context, std::move(attributes)});
  }
  return *this;
}

Span& Span::set_status(StatusCode code, std::string_view message) {
  if (data_ == nullptr) return *this;
  // Ok is final; Error may not be downgraded to Unset.
  if (data_->status == StatusCode::kOk) return *this;
  if (code == StatusCode::kUnset) return *this;
  data_->status = code;
  data_->status_message = code == StatusCode::kError ? std::string(message) : std::string();
  return *this;
}

void Span::update_name(std::string_view name) {
  if (data_ != nullptr) data_->name = name;
}

void Span::end(int64_t end_unix_ns) {
  if (data_ == nullptr) return;
  data_->end_unix_ns =
      std::max(end_unix_ns != 0 ? end_unix_ns : now_unix_ns(), data_->start_unix_ns);
  auto data = std::move(data_);
  data_ = nullptr;
  if (processor_ != nullptr) processor_->on_end(std::move(*data));
  pool().recycle(std::move(data));
}

Sampler Sampler::from_environment(std::string* warning) {
  Sampler s;
  const char* name = std::getenv("OTEL_TRACES_SAMPLER");
  const char* arg = std::getenv("OTEL_TRACES_SAMPLER_ARG");
  double ratio = 1.0;
  if (arg != nullptr && *arg != '\0') {
    char* end = nullptr;
    const double parsed = std::strtod(arg, &end);
    if (end != arg && *end == '\0' && parsed >= 0.0 && parsed <= 1.0) {
      ratio = parsed;
    } else if (warning != nullptr) {
      *warning = std::string("OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got '") + arg +
                 "'; using 1.0";
    }
  }
  const std::string n = name != nullptr ? name : "parentbased_always_on";
  if (n == "always_on") {
    s = {Root::kAlwaysOn, 1.0, false};
  } else if (n == "always_off") {
    s = {Root::kAlwaysOff, 0.0, false};
  } else if (n == "traceidratio") {
    s = {Root::kRatio, ratio, false};
  } else if (n == "parentbased_always_on") {
    s = {Root::kAlwaysOn, 1.0, true};
  } else if (n == "parentbased_always_off") {
    s = {Root::kAlwaysOff, 0.0, true};
  } else if (n == "parentbased_traceidratio") {
    s = {Root::kRatio, ratio, true};
  } else {
    if (warning != nullptr) {
      *warning = "unknown OTEL_TRACES_SAMPLER '" + n + "'; using parentbased_always_on";
    }
    s = {Root::kAlwaysOn, 1.0, true};
  }
  return s;
}

bool Sampler::sample(const SpanContext* parent, const TraceId& trace_id) const {
  if (parent_based && parent && parent->valid()) return parent->sampled();
  switch (root) {
    case Root::kAlwaysOn: return true;
    case Root::kAlwaysOff: return false;
    case Root::kRatio: {
      if (ratio >= 1.0) return true;
      if (ratio <= 0.0) return false;
      // The trace id's last 8 bytes, as the OpenTelemetry TraceIdRatioBased sampler reads them.
      uint64_t x = 0;
      for (size_t i = 8; i < 16; ++i) x = x << 8 | trace_id.bytes[i];
      const auto bound = static_cast<uint64_t>(std::ldexp(ratio, 64));
      return x < bound;
    }
  }
  return true;
}

Tracer::Tracer(Sampler sampler, SpanProcessor* processor)
    : sampler_(sampler), processor_(processor) {}

SpanContext Tracer::start_context(const StartOptions& options, SpanId* parent_span_id) const {
  const SpanContext* parent = options.parent ? &*options.parent : nullptr;
  if (parent == nullptr && !options.root && t_current != nullptr) parent = t_current;
  if (parent != nullptr && !parent->valid()) parent = nullptr;

  SpanContext context;
  if (parent != nullptr) {
    context.trace_id = parent->trace_id;
    context.trace_state = parent->trace_state;
    context.flags = parent->flags & kFlagRandom;  // the trace id's origin stays as it was
    *parent_span_id = parent->span_id;
  } else {
    context.trace_id = new_trace_id();
    context.flags = kFlagRandom;
    *parent_span_id = SpanId{};
  }
  context.span_id = new_span_id();
  if (sampler_.sample(parent, context.trace_id)) context.flags |= kFlagSampled;
  return context;
}

SpanData FinishedSpan::to_data() const {
  SpanData data;
  data.context = *context;
  data.parent_span_id = parent_span_id;
  data.name = name;
  data.kind = kind;
  data.start_unix_ns = start_unix_ns;
  data.end_unix_ns = end_unix_ns;
  data.status = status;
  if (attributes != nullptr) {
    ByteBuffer wire;
    AttributeWriter writer(wire);
    attributes(writer, arg);
    data.attributes = AttributeList::from_wire({wire.data(), wire.size()});
  }
  return data;
}

Span Tracer::start_span(std::string_view name, StartOptions options) const {
  SpanId parent_span_id;
  SpanContext context = start_context(options, &parent_span_id);

  // Unsampled, or nobody to hand the span to: propagate it, record nothing.
  if (!context.sampled() || processor_ == nullptr) {
    return Span(std::move(context), nullptr, processor_);
  }
  auto data = pool().acquire();
  data->context = context;
  data->parent_span_id = parent_span_id;
  data->name = name;
  data->kind = options.kind;
  data->start_unix_ns = options.start_unix_ns != 0 ? options.start_unix_ns : now_unix_ns();
  for (const auto& a : options.attributes) data->attributes.set(a.key.view(), a.value);
  for (auto& link : options.links) {
    if (link.context.valid()) data->links.push_back(std::move(link));
  }
  return Span(std::move(context), std::move(data), processor_);
}

const SpanContext* current_context() { return t_current; }

Scope::Scope(SpanContext context) : previous_(t_current), context_(std::move(context)) {
  t_current = &context_;
}

Scope::~Scope() { t_current = previous_; }

void install_log_context() { log::set_trace_ids_provider(&log_ids); }

}  // namespace seatflow::trace
