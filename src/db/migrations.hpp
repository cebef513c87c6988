// Versioned schema migrations per service, in the manner of Flyway.
//
// A service's migrations are files `V<n>__<description>.sql`. Where SQLite and
// PostgreSQL need different SQL, a version may instead come as a pair
// `V<n>__<description>.sqlite.sql` / `V<n>__<description>.postgres.sql`. The
// binary embeds each service's files at build time (see
// cmake/EmbedMigrations.cmake); tests may read them from a folder.
//
// Applied migrations are recorded in the service's `schema_history` table
// (version, description, script, checksum, installed_at, execution_ms,
// success). Each migration runs in its own transaction, in version order; a
// failing one is rolled back and recorded with success = false, and the next
// `migrate` retries it.
//
// At start a service calls Migrator::validate(): a pending migration, a
// changed checksum, a migration recorded in the database but absent from the
// binary, or a failed one makes it refuse to start with a message naming
// each problem and the command that fixes it.
//
// Thread safety: a Migrator is used by one thread. Several processes may
// migrate the same database at once: each migration takes a lock (an
// advisory lock on PostgreSQL, the write lock on SQLite) and re-checks the
// history under it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "db/database.hpp"

namespace seatflow::db {

struct MigrationFile {
  std::string name;     // "V1__create_events.sql"
  std::string content;  // the SQL
};

struct Migration {
  int version = 0;
  std::string description;  // "create events": the name's words
  std::string script;       // the file chosen for the dialect
  std::string sql;
  int64_t checksum = 0;  // CRC-32 of the SQL with line endings normalized
};

// Chooses, for `dialect`, one migration per version, in version order.
// Fails (kInvalidArgument) on a malformed name, two files for one version,
// or a version that has a variant for the other dialect only.
Result<std::vector<Migration>> select_migrations(const std::vector<MigrationFile>& files,
                                                 Dialect dialect);

// Every *.sql file of a folder.
Result<std::vector<MigrationFile>> read_migration_dir(const std::filesystem::path& dir);

// CRC-32 (IEEE) of `sql` after removing carriage returns.
int64_t migration_checksum(std::string_view sql);

struct AppliedMigration {
  int version = 0;
  std::string description;
  std::string script;
  int64_t checksum = 0;
  int64_t installed_at_ms = 0;
  int64_t execution_ms = 0;
  bool success = false;
};

struct SchemaProblem {
  enum class Kind { kPending, kChecksumChanged, kMissingFile, kFailed };
  Kind kind;
  int version;
  std::string detail;  // one sentence
};

struct SchemaStatus {
  std::vector<AppliedMigration> applied;  // as recorded, by version
  std::vector<Migration> pending;         // known to the binary, not applied
  std::vector<SchemaProblem> problems;    // pending ones included
};

class Migrator {
 public:
  // `service` names the service in messages and hints ("reservation").
  Migrator(Database& db, std::string service, std::vector<Migration> migrations,
           const Clock& clock);

  // Reads the history without changing anything.
  Result<SchemaStatus> status();

  // Applies every pending (or previously failed) migration in order and
  // returns those applied; with `dry_run`, returns what would be applied and
  // changes nothing. Refuses (kFailedPrecondition) when a checksum changed or
  // a recorded migration has no file.
  Result<std::vector<Migration>> migrate(bool dry_run = false);

  // ok() when the database matches the binary exactly; otherwise
  // kFailedPrecondition listing each problem and what to run.
  Status validate();

 private:
  Status ensure_history_table();
  Status apply(const Migration& migration);
  Status record_failure(const Migration& migration, int64_t started_ms);

  Database& db_;
  const std::string service_;
  const std::vector<Migration> migrations_;
  const Clock& clock_;
};

}  // namespace seatflow::db
