// The SQLite adapter of the Database port, for embedded mode.
//
// One file per service. The database runs in WAL mode so readers never block
// the writer. Writes are serialized in-process: every read-write transaction
// takes the single writer connection (BEGIN IMMEDIATE); read-only
// transactions run on a small pool of reader connections at the same time.
// Other processes on the same file (a `seatflow migrate` next to a running
// server) wait up to `busy_timeout`.
//
// Thread safety: as the Database port.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "db/database.hpp"

namespace seatflow::db {

struct SqliteOptions {
  std::string path;  // the database file; created if missing
  std::chrono::milliseconds busy_timeout{5000};
  int reader_connections = 4;
  // "NORMAL" survives a process crash (kill -9) without losing commits;
  // "FULL" also survives power loss, at the cost of an fsync per commit.
  std::string synchronous = "NORMAL";
};

Result<std::unique_ptr<Database>> open_sqlite(const SqliteOptions& options);

}  // namespace seatflow::db
