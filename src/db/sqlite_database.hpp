// The SQLite adapter of the Database port, for embedded mode.
//
// One file per service. The database runs in WAL mode so readers never block
// the writer; its connections open it through wal_coalescing_vfs()
// (sqlite_wal_vfs.hpp), which writes each WAL commit with one system call. Writes are serialized
// in-process on the single writer connection, and committed in groups: read-write transactions that
// arrive while another one runs are run together in the next transaction (BEGIN IMMEDIATE), each in
// a savepoint of its own, and committed once. A body that fails rolls back to its savepoint and
// fails alone; a failed commit fails the group. Read-only transactions run on a small pool of
// reader connections at the same time. The WAL is checkpointed into the database file by a thread
// of the database's own, on a connection of its own, each time the WAL has grown by
// `checkpoint_pages`, not inside the writer's commit. Other processes on the same file (a `seatflow
// migrate` next to a running server) wait up to `busy_timeout`, unless the file is `exclusive` to
// one process.
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
  // The most read-write transactions one commit takes.
  int max_group_commit = 64;
  // "NORMAL" survives a process crash (kill -9) without losing commits;
  // "FULL" also survives power loss, at the cost of an fsync per commit.
  std::string synchronous = "NORMAL";
  // Bytes per page of a file this creates (a power of two, 512 to 65,536);
  // a file that exists keeps its own. Smaller than SQLite's 4,096: a
  // transaction here changes a few rows in several B-trees and writes each
  // page it touches whole, to the WAL and again at the checkpoint.
  int page_size = 2048;
  // How much the WAL grows, in pages, between two checkpoints of the
  // background thread (see the Checkpointer). SQLite's own default is 1,000;
  // a page written again and again (an outbox's last leaf, an index's) is
  // copied into the database file once per checkpoint, and in the embedded
  // flash sale 4,000 cost the server less CPU per purchase.
  int checkpoint_pages = 4'000;
  // The WAL's length in pages at which the writer finishes the background
  // checkpoint itself, so that the WAL starts over instead of growing for as
  // long as writes never pause (see the Checkpointer). About 32 MiB.
  int wal_restart_pages = 16'000;
  // The file belongs to this process while it has it open: no other process
  // can read or write it (opening fails after `busy_timeout`), and in
  // return no transaction takes or releases a file lock, and the WAL index
  // lives in this process's memory (wal_coalescing_vfs(true)). That was
  // 8 % of the embedded flash sale's CPU per purchase. Connections of this
  // process share the file as before.
  bool exclusive = false;
};

Result<std::unique_ptr<Database>> open_sqlite(const SqliteOptions& options);

}  // namespace seatflow::db
