// The transactional outbox: a service writes the messages it publishes into
// its own database, in the same transaction as the change they announce,
// and the OutboxRelay publishes them to the bus afterwards. A change and its
// message are committed together or not at all.
//
// Outbox::add() also records a `create <topic>` PRODUCER span, child of the
// current context, and stores that span's context in the row's
// `traceparent` column. The relay restores it: each message gets a
// `send <topic>` PRODUCER span, child of the row's context, and that span's
// context travels in the message headers to the consumer.
//
// OutboxRelay:
// - Rows are spread over lanes by key (16, see V1__messaging.sql). A relay
//   publishes only the lanes whose lease it holds; the lease is taken with
//   `FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas never publish the
//   same row, and one key's rows are published by one relay, in order.
// - A batch is published, and only after the bus acknowledged a message is
//   its row deleted (the bus keeps the message); a crash in between
//   republishes it (consumers drop the duplicate, see inbox.hpp). If a
//   message fails, the rows after it with the same key wait for it.
// - It wakes as soon as a row is committed (Database notifications: in
//   process on SQLite, LISTEN/NOTIFY on PostgreSQL), and polls every
//   `poll_interval` as a safety net.
//
// Thread safety: Outbox is safe from any thread. OutboxRelay runs on a
// thread of its own between start() and stop(); run_once() is for one
// caller at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.hpp"
#include "core/clock.hpp"
#include "core/uuid.hpp"
#include "db/database.hpp"
#include "db/migrations.hpp"
#include "metrics/registry.hpp"
#include "trace/span.hpp"

namespace seatflow::bus {

// The messaging tables every service has (outbox, lanes, inbox, dead
// letters), then the outbox: migrations V1 and V2 of each service.
std::vector<db::MigrationFile> messaging_migration_files();

// The later changes to those tables (src/bus/upgrades, `U<n>__...`), which
// every service applies among its own migrations, each at a version of its
// own: `versions[n - 1]` is where change n lands, so that a change made today
// takes each service's next free version. The code expects every change
// applied: a service lists a version for each (kMessagingUpgradeVersions,
// beside its migration_files()).
std::vector<db::MigrationFile> messaging_upgrade_files(std::span<const int> versions);
// How many such changes there are.
size_t messaging_upgrade_count();
// A service's whole schema: the messaging tables (V1, V2), its `own`
// migrations, and each later change at its version in `upgrade_versions`.
std::vector<db::MigrationFile> service_migration_files(std::vector<db::MigrationFile> own,
                                                       std::span<const int> upgrade_versions);
// The messaging tables alone, as a service has them today: V1, V2, then each
// later change at the next version. For a database that holds nothing else
// (the bus's own tests and benchmarks).
std::vector<db::MigrationFile> standalone_messaging_migration_files();

// The notification channel the outbox signals on commit.
inline constexpr std::string_view kOutboxChannel = "outbox";
inline constexpr int32_t kOutboxLanes = 16;

struct OutboxMessage {
  std::string topic;
  std::string key;
  std::string type;  // e.g. "order.confirmed"; the message-type header
  std::string payload;
  Headers headers;  // extra headers
};

class Outbox {
 public:
  // `system` names the bus in spans (messaging.system).
  Outbox(db::Database& db, std::string_view system, const trace::Tracer& tracer,
         const Clock& clock);

  // Writes `message` within `session`'s transaction and returns its id.
  Result<std::string> add(db::Session& session, const OutboxMessage& message);

 private:
  db::Database& db_;
  const trace::Tracer& tracer_;
  const Clock& clock_;
  const std::string system_;
  UuidV7Generator ids_;
};

struct RelayOptions {
  // Unique per relay process; the lanes' lease holder. A restarted relay
  // with the same owner takes its lanes back at once; another waits for the
  // lease to expire.
  std::string owner;
  int batch_size = 1000;
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds lease{10000};
  std::chrono::milliseconds retry_backoff{200};
  std::chrono::milliseconds max_retry_backoff{5000};
  // How long a relay woken by a committed row waits before it reads the
  // outbox, so that the rows committed meanwhile go in the same pass (one
  // read, one publish, one delete for all of them). 0: at once.
  std::chrono::milliseconds linger{0};
  // Fault injection for tests: called after a batch was acknowledged and
  // before its rows are deleted; returning false abandons the pass there, as a
  // crash would.
  std::function<bool()> before_settle;
};

// The default owner: "<hostname>/<pid>".
std::string default_relay_owner();

class OutboxRelay {
 public:
  // `service` labels metrics and logs. `registry` may be null.
  OutboxRelay(std::string service, db::Database& db, Publisher& publisher, std::string_view system,
              const trace::Tracer& tracer, const Clock& clock, RelayOptions options,
              metrics::Registry* registry = nullptr);
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Starts the relay thread.
  Status start();
  // Finishes the pass in progress and stops.
  void stop();

  // One pass: renew the lanes' lease, publish up to a batch, delete what
  // the bus acknowledged. Returns the number of messages published.
  Result<size_t> run_once();

 private:
  struct Metrics;
  struct Row;

  void run();
  Result<std::vector<int64_t>> claim_lanes();
  Result<std::vector<Row>> fetch(const std::vector<int64_t>& lanes);
  // Deletes the rows sent, records the failures.
  Status settle(const std::vector<const Row*>& sent,
                const std::vector<std::pair<const Row*, std::string>>& failed);
  // Sets the backlog gauges, at most every few seconds.
  void sample_backlog();

  const std::string service_;
  db::Database& db_;
  Publisher& publisher_;
  const std::string system_;
  const trace::Tracer& tracer_;
  const Clock& clock_;
  const RelayOptions options_;
  std::unique_ptr<Metrics> metrics_;
  int64_t next_sample_ms_ = 0;  // relay thread only
  std::unique_ptr<db::Listener> listener_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<int64_t> lanes_;  // held; renewed when lanes_until_ms_ - lease/2 passes
  int64_t lanes_renew_ms_ = 0;
};

}  // namespace seatflow::bus
