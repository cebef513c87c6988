#include "bus/inbox.hpp"

#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "bus/semconv.hpp"
#include "core/log.hpp"
#include "trace/propagation.hpp"

namespace seatflow::bus {

struct Inbox::Metrics {
  Metrics(prometheus::Registry& r, const std::string& consumer)
      : duplicates(prometheus::BuildCounter()
                       .Name("seatflow_bus_duplicates_total")
                       .Help("Messages acknowledged without effect: already in the inbox")
                       .Register(r)
                       .Add({{"consumer", consumer}})),
        dead_letters(prometheus::BuildCounter()
                         .Name("seatflow_bus_dead_letters_total")
                         .Help("Messages moved to the dead_letters table after too many failures")
                         .Register(r)
                         .Add({{"consumer", consumer}})),
        lag(prometheus::BuildGauge()
                .Name("seatflow_bus_consumer_lag_seconds")
                .Help("Age of the last message this consumer took up, by topic: how far behind "
                      "the publishers it runs")
                .Register(r)) {}
  prometheus::Counter& duplicates;
  prometheus::Counter& dead_letters;
  prometheus::Family<prometheus::Gauge>& lag;
};

Inbox::Inbox(db::Database& db, std::string_view system, const trace::Tracer& tracer,
             const Clock& clock, InboxOptions options, metrics::Registry* registry)
    : db_(db), system_(system), tracer_(tracer), clock_(clock), options_(std::move(options)) {
  if (registry != nullptr) {
    metrics_ = std::make_unique<Metrics>(registry->prometheus(), options_.consumer);
  }
}

Inbox::~Inbox() = default;

namespace {

// A message's inbox row. Alone, a duplicate's insert changes nothing and
// says so; in a batch it fails the batch.
constexpr std::string_view kInsertInbox =
    "INSERT INTO inbox (consumer, message_id, topic, msg_type, outcome, processed_at) "
    "VALUES ($1, $2, $3, $4, 'processed', $5)";
const std::string kInsertInboxUnlessThere =
    std::string(kInsertInbox) + " ON CONFLICT (consumer, message_id) DO NOTHING";

bool acts_on_type(const std::vector<std::string>& acts_on, const Message& m) {
  return acts_on.empty() || std::find(acts_on.begin(), acts_on.end(), m.type()) != acts_on.end();
}

}  // namespace

Handler Inbox::wrap(InboxHandler handler, std::vector<std::string> acts_on) {
  return [this, handler = std::move(handler), acts_on = std::move(acts_on)](const Message& m) {
    if (acts_on_type(acts_on, m)) return handle(m, handler);
    observe_lag(m);
    trace::Span span = start_process_span(tracer_, system_, m, options_.consumer);
    span.set_attribute("seatflow.message.ignored", true);
    return ok();
  };
}

BatchHandler Inbox::wrap_batch(InboxHandler handler, std::vector<std::string> acts_on) {
  return [this, handler = std::move(handler),
          acts_on = std::move(acts_on)](std::span<const Message> messages) {
    return handle_batch(messages, handler, acts_on);
  };
}

void Inbox::observe_lag(const Message& message) {
  if (!metrics_ || message.timestamp_ms <= 0) return;
  const int64_t age_ms = std::max<int64_t>(0, clock_.now_unix_ms() - message.timestamp_ms);
  metrics_->lag.Add({{"consumer", options_.consumer}, {"topic", message.topic}})
      .Set(static_cast<double>(age_ms) / 1000.0);
}

trace::Span start_process_span(const trace::Tracer& tracer, std::string_view system,
                               const Message& message, std::string_view group) {
  trace::StartOptions start{.kind = trace::SpanKind::kConsumer, .root = true};
  start.parent = trace::extract(message.headers);
  trace::Span span = tracer.start_span("process " + message.topic, std::move(start));
  set_messaging_attributes(span, system, kOperationProcess, message.topic);
  if (span.recording()) {
    span.set_attribute(kMessageIdAttr, message.id());
    span.set_attribute(kMessageKeyAttr, message.key);
    span.set_attribute(kPartitionAttr, std::to_string(message.partition));
    span.set_attribute(kOffsetAttr, message.offset);
    span.set_attribute(kConsumerGroupAttr, group);
  }
  return span;
}

Result<bool> Inbox::apply(db::Session& s, const Message& message, const std::string& id,
                          const InboxHandler& handler) {
  // Inserting first also makes a concurrent duplicate wait for this one.
  auto inserted = s.execute(kInsertInboxUnlessThere, inbox_row(message, id));
  if (!inserted) return fail(inserted.error());
  if (*inserted == 0) return true;
  if (auto st = handler(s, message); !st) return fail(st.error());
  return false;
}

db::Params Inbox::inbox_row(const Message& message, const std::string& id) const {
  return {options_.consumer, id, message.topic, message.type(), clock_.now_unix_ms()};
}

void Inbox::acknowledge_duplicate(trace::Span& span, const Message& message,
                                  const std::string& id) {
  span.set_attribute("seatflow.message.duplicate", true);
  log::debug("{}: {} {} is a duplicate; acknowledged without effect", options_.consumer,
             message.type(), id);
  if (metrics_) metrics_->duplicates.Increment();
}

Status Inbox::handle(const Message& message, const InboxHandler& handler) {
  observe_lag(message);
  trace::Span span = start_process_span(tracer_, system_, message, options_.consumer);
  trace::Scope scope(span);
  const std::string id = message.id();
  bool duplicate = false;
  auto st = db_.transact([&](db::Session& s) -> Status {
    auto applied = apply(s, message, id, handler);
    if (!applied) return fail(applied.error());
    duplicate = *applied;
    return ok();
  });
  if (st) {
    if (duplicate) acknowledge_duplicate(span, message, id);
    purge_if_due();
    return ok();
  }
  span.set_status(trace::StatusCode::kError, st.error().message());
  return record_failure(message, id, st.error());
}

Status Inbox::handle_batch(std::span<const Message> messages, const InboxHandler& handler,
                           const std::vector<std::string>& acts_on) {
  std::vector<trace::Span> spans;
  spans.reserve(messages.size());
  std::vector<std::string> ids;  // of the messages acted on; empty for the others
  ids.reserve(messages.size());
  bool any = false;
  for (const Message& m : messages) {
    observe_lag(m);
    spans.push_back(start_process_span(tracer_, system_, m, options_.consumer));
    const bool acts = acts_on_type(acts_on, m);
    ids.push_back(acts ? m.id() : std::string());
    if (!acts) spans.back().set_attribute("seatflow.message.ignored", true);
    any = any || acts;
  }
  if (!any) return ok();
  // Each message's inbox row goes out with its handler's first statement,
  // not in a round trip of its own, and is still inserted before that
  // statement runs. A message already handled fails the batch at its
  // insert (kAlreadyExists), and the bus then offers the messages one at a
  // time, through handle(), which acknowledges the duplicate.
  auto st = db_.transact([&](db::Session& s) -> Status {
    for (size_t i = 0; i < messages.size(); ++i) {
      if (ids[i].empty()) continue;
      trace::Scope scope(spans[i]);
      Status applied = s.execute_deferred(kInsertInbox, inbox_row(messages[i], ids[i]));
      if (applied) applied = handler(s, messages[i]);
      if (!applied) return fail(applied.error().with_context(messages[i].type() + " " + ids[i]));
    }
    return ok();
  });
  if (!st) {
    for (size_t i = 0; i < spans.size(); ++i) {
      if (ids[i].empty()) continue;
      spans[i].set_attribute("seatflow.batch.rolled_back", true);
      spans[i].set_status(trace::StatusCode::kError, st.error().message());
    }
    return st;
  }
  purge_if_due();
  return ok();
}

void Inbox::purge_if_due() {
  const int64_t now = clock_.now_unix_ms();
  int64_t due = next_purge_ms_.load(std::memory_order_relaxed);
  // One thread purges; the others go on.
  if (now < due || !next_purge_ms_.compare_exchange_strong(due, now + 60'000)) return;
  auto n = db_.transact([&](db::Session& s) {
    return s.execute("DELETE FROM inbox WHERE consumer = $1 AND processed_at < $2",
                     {options_.consumer, now - options_.retention.count()});
  });
  if (!n) {
    log::warn("{}: inbox purge failed: {}", options_.consumer, n.error().to_string());
  } else if (*n > 0) {
    log::debug("{}: purged {} inbox row(s) older than the retention", options_.consumer, *n);
  }
}

Status Inbox::record_failure(const Message& message, const std::string& id, const Error& error) {
  const int64_t now = clock_.now_unix_ms();
  bool dead = false;
  auto st = db_.transact([&](db::Session& s) -> Status {
    auto rows = s.query(
        "INSERT INTO inbox_failures (consumer, message_id, attempts, last_error, updated_at) "
        "VALUES ($1, $2, 1, $3, $4) ON CONFLICT (consumer, message_id) DO UPDATE SET "
        "attempts = inbox_failures.attempts + 1, last_error = excluded.last_error, "
        "updated_at = excluded.updated_at RETURNING attempts",
        {options_.consumer, id, error.to_string(), now});
    if (!rows) return fail(rows.error());
    const auto attempts = (*rows)[0].get<int64_t>(0);
    if (attempts < options_.max_attempts) return ok();
    dead = true;
    const auto traceparent = find_header(message.headers, trace::kTraceparentHeader);
    auto n = s.execute(
        "INSERT INTO dead_letters (consumer, message_id, topic, part, msg_offset, msg_key, "
        "msg_type, headers, payload, error, traceparent, attempts, created_at) VALUES ($1, $2, "
        "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (consumer, message_id) DO "
        "NOTHING",
        {options_.consumer, id, message.topic, int64_t{message.partition}, message.offset,
         message.key, message.type(), encode_headers(message.headers), message.payload,
         error.to_string(), traceparent ? db::Value(std::string(*traceparent)) : db::Value(nullptr),
         attempts, now});
    if (!n) return fail(n.error());
    n = s.execute(
        "INSERT INTO inbox (consumer, message_id, topic, msg_type, outcome, processed_at) "
        "VALUES ($1, $2, $3, $4, 'dead_lettered', $5) ON CONFLICT (consumer, message_id) DO "
        "NOTHING",
        {options_.consumer, id, message.topic, message.type(), now});
    if (!n) return fail(n.error());
    n = s.execute("DELETE FROM inbox_failures WHERE consumer = $1 AND message_id = $2",
                  {options_.consumer, id});
    if (!n) return fail(n.error());
    return ok();
  });
  if (!st) {
    log::warn("{}: cannot record the failure of {}: {}", options_.consumer, id,
              st.error().to_string());
    return fail(error);
  }
  if (!dead) return fail(error);
  log::error("{}: {} {} dead-lettered after {} attempts: {}", options_.consumer, message.type(), id,
             options_.max_attempts, error.to_string());
  if (metrics_) metrics_->dead_letters.Increment();
  return ok();
}

}  // namespace seatflow::bus
