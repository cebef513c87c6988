// The PostgreSQL adapter of the Database port (libpq), for distributed mode.
//
// A bounded pool of connections; a caller waits up to `acquire_timeout` for
// one and then gets kUnavailable. Each service lives in its own schema: every
// connection sets `search_path` to it, and open() creates it if missing.
// A connection that broke (server restart, network) is dropped on release
// and replaced on demand.
//
// Thread safety: as the Database port.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "db/database.hpp"

namespace seatflow::db {

struct PostgresOptions {
  std::string conninfo;  // "postgresql://user@host:port/db" or "host=... port=..."
  std::string schema;    // [a-z_][a-z0-9_]*; empty keeps the server's search_path
  int pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  std::chrono::milliseconds connect_timeout{5000};
  std::string application_name = "seatflow";
  // The shortest time between two NOTIFYs this handle sends on a channel.
  // A commit inside it is announced when it ends, by one NOTIFY for all of
  // them: every NOTIFY wakes every backend that listens in the database,
  // and their clients. Zero sends one with every commit.
  std::chrono::milliseconds notify_interval{0};
};

Result<std::unique_ptr<Database>> open_postgres(const PostgresOptions& options);

// True when `name` is a schema or identifier we accept: [a-z_][a-z0-9_]{0,62}.
bool is_simple_identifier(std::string_view name);

}  // namespace seatflow::db
