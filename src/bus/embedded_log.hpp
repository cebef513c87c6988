// The embedded adapter of the Bus port: a durable, partitioned log in a
// SQLite file of its own (`<data_dir>/bus.db` in `seatflow up`).
//
// Like Kafka, a topic has a fixed number of partitions; a message goes to
// the partition of its key (partition_for) and gets the next offset there.
// A consumer group's position is one committed offset per partition, stored
// in the same file, so everything survives a restart. Consumers are woken
// the moment a message is appended in this process (no polling delay), and
// take what it appended from memory (the last 1,024 messages of each
// partition) rather than reading it back; they read the file at least once
// a `poll_interval`, a safety net for appends made by another process on
// the same file. Messages older than `retention` are deleted.
//
// A group has one consumer per process: a second subscribe() to a group
// already consumed here fails with kFailedPrecondition.
//
// Thread safety: as the Bus port.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "core/clock.hpp"
#include "db/migrations.hpp"

namespace seatflow::bus_log {
// The log file's own migrations (src/bus/log_migrations, embedded at build).
std::vector<db::MigrationFile> migration_files();
}  // namespace seatflow::bus_log

namespace seatflow::bus {

struct EmbeddedLogOptions {
  std::string path;  // the SQLite file; created if missing
  std::chrono::milliseconds poll_interval{1000};
  int max_batch = 512;  // messages a consumer reads per partition at a time
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  // As SqliteOptions::synchronous: NORMAL survives a process crash.
  std::string synchronous = "NORMAL";
  // As SqliteOptions::exclusive: the file belongs to this process while it
  // has it open (no other process appends to it then).
  bool exclusive = false;
};

// Opens (and creates or migrates) the log. `clock` stamps messages and
// drives retention; it must outlive the Bus.
Result<std::unique_ptr<Bus>> open_embedded_log(const EmbeddedLogOptions& options,
                                               const Clock& clock);

}  // namespace seatflow::bus
