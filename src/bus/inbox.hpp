// The idempotent consumer: an inbox table of the messages a consumer has
// handled, in the service's own database.
//
// For each message, in one transaction: the inbox row is inserted and the
// handler's effect applied; both commit or neither does. A message already
// in the inbox (a redelivery, or a second publish after a relay crash) is
// acknowledged without running the handler. On PostgreSQL the inbox row's
// key also keeps two replicas from applying one message at once.
//
// A handler failure is counted (inbox_failures) and the message offered
// again by the bus. After `max_attempts` failures the message goes to the
// dead_letters table with its last error and trace context, is counted in
// `seatflow_bus_dead_letters_total`, and is acknowledged: it never blocks
// its partition for good.
//
// A batch (handle_batch, wrap_batch) is one transaction for all its
// messages: each has its inbox row and effect applied in turn, and they
// commit together or not at all. A batch that fails is not counted against
// its messages: the bus then offers them one at a time, through handle().
// A batch holding a message already handled fails too (its inbox row
// cannot be inserted), so a batch costs no round trip per inbox row.
//
// Each message is handled inside a `process <topic>` CONSUMER span, child
// of the context in its headers; the handler's spans and logs sit under it.
// In a batch, each message's statements run under its own span.
//
// Inbox rows older than `retention` are deleted, at most once a minute, by
// whichever message is handled then. A redelivery can only come from the
// bus, so the retention must be at least as long as the bus keeps messages.
//
// Thread safety: an Inbox is safe from any thread; one message is handled
// at a time per subscription.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "core/clock.hpp"
#include "db/database.hpp"
#include "metrics/registry.hpp"
#include "trace/span.hpp"

namespace seatflow::bus {

// Applies one message's effect inside the inbox's transaction.
using InboxHandler = std::function<Status(db::Session&, const Message&)>;

struct InboxOptions {
  std::string consumer;  // the consumer group; inbox rows are per consumer
  int max_attempts = 5;
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};  // the bus's, or longer
};

// The `process <topic>` CONSUMER span of one message: child of the context
// in its headers, with the messaging attributes. For consumers that do not
// need an inbox (live-update feeds); Inbox::handle() uses it too.
trace::Span start_process_span(const trace::Tracer& tracer, std::string_view system,
                               const Message& message, std::string_view group);

class Inbox {
 public:
  // `system` names the bus in spans. `registry` may be null.
  Inbox(db::Database& db, std::string_view system, const trace::Tracer& tracer, const Clock& clock,
        InboxOptions options, metrics::Registry* registry = nullptr);
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Handles `message` as described above. An error means "offer it again".
  Status handle(const Message& message, const InboxHandler& handler);

  // Handles `messages`, in order, in one transaction, as described above.
  // With `acts_on`, see wrap(). An error means none was handled.
  Status handle_batch(std::span<const Message> messages, const InboxHandler& handler,
                      const std::vector<std::string>& acts_on = {});

  // A bus Handler that calls handle() with `handler`. With `acts_on`, a
  // message of another type has no effect to guard: it is acknowledged with
  // its process span but without a transaction or an inbox row. The Inbox
  // must outlive the handler.
  Handler wrap(InboxHandler handler, std::vector<std::string> acts_on = {});
  // The same as a bus BatchHandler, through handle_batch().
  BatchHandler wrap_batch(InboxHandler handler, std::vector<std::string> acts_on = {});

  const std::string& consumer() const { return options_.consumer; }

 private:
  struct Metrics;
  // Records the lag of `message`'s topic for this consumer.
  void observe_lag(const Message& message);
  // In `s`: the message's inbox row, then its effect; true when it was
  // already in the inbox (nothing done).
  Result<bool> apply(db::Session& s, const Message& message, const std::string& id,
                     const InboxHandler& handler);
  // The parameters of an inbox row for `message`.
  db::Params inbox_row(const Message& message, const std::string& id) const;
  // Counts and logs a duplicate acknowledged without effect.
  void acknowledge_duplicate(trace::Span& span, const Message& message, const std::string& id);

  // Counts a failure; dead-letters the message when it was the last attempt.
  Status record_failure(const Message& message, const std::string& id, const Error& error);
  // Deletes rows past the retention, when the last purge is a minute old.
  void purge_if_due();

  db::Database& db_;
  const std::string system_;
  const trace::Tracer& tracer_;
  const Clock& clock_;
  const InboxOptions options_;
  std::unique_ptr<Metrics> metrics_;
  std::atomic<int64_t> next_purge_ms_{0};
};

}  // namespace seatflow::bus
