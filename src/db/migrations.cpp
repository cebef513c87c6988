#include "db/migrations.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace seatflow::db {
namespace {

struct ParsedName {
  int version = 0;
  std::string description;
  std::optional<Dialect> dialect;  // nullopt: for both
};

// "V12__add_price_tiers.postgres.sql" -> {12, "add price tiers", postgres}
std::optional<ParsedName> parse_name(std::string_view name) {
  if (name.size() < 5 || name[0] != 'V' || !name.ends_with(".sql")) return std::nullopt;
  const size_t sep = name.find("__");
  if (sep == std::string_view::npos || sep < 2) return std::nullopt;
  ParsedName parsed;
  auto [ptr, ec] = std::from_chars(name.data() + 1, name.data() + sep, parsed.version);
  if (ec != std::errc() || ptr != name.data() + sep || parsed.version < 1) return std::nullopt;
  std::string_view rest = name.substr(sep + 2, name.size() - sep - 2 - 4);
  if (rest.ends_with(".sqlite")) {
    parsed.dialect = Dialect::kSqlite;
    rest.remove_suffix(7);
  } else if (rest.ends_with(".postgres")) {
    parsed.dialect = Dialect::kPostgres;
    rest.remove_suffix(9);
  }
  if (rest.empty() || rest.find('.') != std::string_view::npos) return std::nullopt;
  parsed.description.assign(rest);
  std::replace(parsed.description.begin(), parsed.description.end(), '_', ' ');
  return parsed;
}

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return kTable;
}

std::string label(int version, std::string_view description) {
  return "V" + std::to_string(version) + " (" + std::string(description) + ")";
}

// Stable 63-bit key for pg_advisory_xact_lock, from the service name.
int64_t advisory_key(std::string_view service) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : std::string("seatflow.migrate.") + std::string(service)) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return static_cast<int64_t>(h >> 1);
}

// Serializes migrations of one service across processes until the
// transaction ends. SQLite's write transactions are serialized already.
Status lock_migrations(Session& s, std::string_view service) {
  if (s.dialect() != Dialect::kPostgres) return ok();
  auto locked = s.query("SELECT pg_advisory_xact_lock($1)", {advisory_key(service)});
  if (!locked) return fail(locked.error());
  return ok();
}

Result<bool> history_table_exists(Session& s) {
  auto rows =
      s.dialect() == Dialect::kSqlite
          ? s.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
                    {std::string("schema_history")})
          : s.query("SELECT 1 WHERE to_regclass($1) IS NOT NULL", {std::string("schema_history")});
  if (!rows) return fail(rows.error());
  return !rows->empty();
}

Result<std::vector<AppliedMigration>> read_history(Session& s) {
  auto exists = history_table_exists(s);
  if (!exists) return fail(exists.error());
  std::vector<AppliedMigration> applied;
  if (!*exists) return applied;
  auto rows = s.query(
      "SELECT version, description, script, checksum, installed_at, execution_ms, success "
      "FROM schema_history ORDER BY version");
  if (!rows) return fail(rows.error());
  for (const Row& row : *rows) {
    applied.push_back(AppliedMigration{
        .version = row.get<int32_t>(0),
        .description = row.get<std::string>(1),
        .script = row.get<std::string>(2),
        .checksum = row.get<int64_t>(3),
        .installed_at_ms = row.get<int64_t>(4),
        .execution_ms = row.get<int64_t>(5),
        .success = row.get<bool>(6),
    });
  }
  return applied;
}

Status insert_history(Session& s, const Migration& m, int64_t installed_at, int64_t execution_ms,
                      bool success) {
  auto recorded = s.execute(
      "INSERT INTO schema_history"
      " (version, description, script, checksum, installed_at, execution_ms, success)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {static_cast<int64_t>(m.version), m.description, m.script, m.checksum, installed_at,
       execution_ms, success});
  if (!recorded) return fail(recorded.error());
  return ok();
}

}  // namespace

int64_t migration_checksum(std::string_view sql) {
  const auto& table = crc_table();
  uint32_t crc = 0xFFFFFFFFu;
  for (char ch : sql) {
    if (ch == '\r') continue;
    crc = table[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
  }
  return static_cast<int64_t>(crc ^ 0xFFFFFFFFu);
}

Result<std::vector<Migration>> select_migrations(const std::vector<MigrationFile>& files,
                                                 Dialect dialect) {
  struct Variants {
    const MigrationFile* common = nullptr;
    const MigrationFile* sqlite = nullptr;
    const MigrationFile* postgres = nullptr;
    std::string description;
  };
  std::map<int, Variants> by_version;
  for (const MigrationFile& file : files) {
    auto parsed = parse_name(file.name);
    if (!parsed) {
      return fail(ErrorCode::kInvalidArgument,
                  "migration file '" + file.name +
                      "' is not named V<n>__<description>.sql (or .sqlite.sql / .postgres.sql)");
    }
    Variants& v = by_version[parsed->version];
    if (!v.description.empty() && v.description != parsed->description) {
      return fail(ErrorCode::kInvalidArgument,
                  "two migrations have version " + std::to_string(parsed->version) + ": '" +
                      v.description + "' and '" + parsed->description + "'");
    }
    v.description = parsed->description;
    const MigrationFile** slot = !parsed->dialect                       ? &v.common
                                 : *parsed->dialect == Dialect::kSqlite ? &v.sqlite
                                                                        : &v.postgres;
    if (*slot != nullptr) {
      return fail(ErrorCode::kInvalidArgument,
                  "migration file '" + file.name + "' duplicates '" + (*slot)->name + "'");
    }
    *slot = &file;
  }

  std::vector<Migration> out;
  for (const auto& [version, v] : by_version) {
    const bool has_pair = v.sqlite != nullptr || v.postgres != nullptr;
    if (v.common != nullptr && has_pair) {
      return fail(ErrorCode::kInvalidArgument,
                  "migration V" + std::to_string(version) +
                      " has both a common .sql file and a dialect-specific one");
    }
    const MigrationFile* chosen = v.common;
    if (has_pair) {
      chosen = dialect == Dialect::kSqlite ? v.sqlite : v.postgres;
      if (chosen == nullptr) {
        return fail(ErrorCode::kInvalidArgument,
                    "migration V" + std::to_string(version) + " has no ." +
                        std::string(dialect_name(dialect)) + ".sql variant");
      }
    }
    out.push_back(Migration{.version = version,
                            .description = v.description,
                            .script = chosen->name,
                            .sql = chosen->content,
                            .checksum = migration_checksum(chosen->content)});
  }
  return out;
}

Result<std::vector<MigrationFile>> read_migration_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail(ErrorCode::kNotFound, "migration folder " + dir.string() + " does not exist");
  }
  std::vector<MigrationFile> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return fail(ErrorCode::kUnavailable, "cannot read " + entry.path().string());
    }
    files.push_back(MigrationFile{entry.path().filename().string(), content.str()});
  }
  std::sort(files.begin(), files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.name < b.name; });
  return files;
}

Migrator::Migrator(Database& db, std::string service, std::vector<Migration> migrations,
                   const Clock& clock)
    : db_(db), service_(std::move(service)), migrations_(std::move(migrations)), clock_(clock) {}

Result<SchemaStatus> Migrator::status() {
  auto applied = db_.transact([](Session& s) { return read_history(s); }, {.read_only = true});
  if (!applied) return fail(applied.error().with_context("cannot read schema_history"));

  SchemaStatus status;
  status.applied = std::move(*applied);
  std::map<int, const AppliedMigration*> recorded;
  for (const auto& a : status.applied) recorded[a.version] = &a;
  std::map<int, const Migration*> known;
  for (const auto& m : migrations_) known[m.version] = &m;

  for (const auto& a : status.applied) {
    auto it = known.find(a.version);
    if (it == known.end()) {
      status.problems.push_back(
          {SchemaProblem::Kind::kMissingFile, a.version,
           "migration " + label(a.version, a.description) + " (" + a.script +
               ") is applied to the database but this build has no such file"});
    } else if (!a.success) {
      status.problems.push_back(
          {SchemaProblem::Kind::kFailed, a.version,
           "migration " + label(a.version, a.description) + " failed and was rolled back"});
    } else if (a.checksum != it->second->checksum) {
      status.problems.push_back(
          {SchemaProblem::Kind::kChecksumChanged, a.version,
           "migration " + label(a.version, a.description) + " (" + it->second->script +
               ") was changed after it was applied (checksum " + std::to_string(a.checksum) +
               " in the database, " + std::to_string(it->second->checksum) + " in the file)"});
    }
  }
  for (const auto& m : migrations_) {
    auto it = recorded.find(m.version);
    if (it == recorded.end() || !it->second->success) {
      status.pending.push_back(m);
      if (it == recorded.end()) {
        status.problems.push_back({SchemaProblem::Kind::kPending, m.version,
                                   "migration " + label(m.version, m.description) + " is pending"});
      }
    }
  }
  std::sort(status.problems.begin(), status.problems.end(),
            [](const SchemaProblem& a, const SchemaProblem& b) { return a.version < b.version; });
  return status;
}

Status Migrator::validate() {
  auto st = status();
  if (!st) return fail(st.error());
  if (st->problems.empty()) return ok();
  bool only_runnable = true;  // pending or failed: `seatflow migrate` fixes them
  std::string message = "the " + service_ + " database schema does not match this build: ";
  for (size_t i = 0; i < st->problems.size(); ++i) {
    const auto& p = st->problems[i];
    if (i > 0) message += "; ";
    message += p.detail;
    only_runnable = only_runnable && (p.kind == SchemaProblem::Kind::kPending ||
                                      p.kind == SchemaProblem::Kind::kFailed);
  }
  if (only_runnable) {
    message += ". Run `seatflow migrate --service " + service_ + "`";
  } else {
    message +=
        ". Restore the original migration files (a migration is never edited once "
        "applied: add a new version instead), or run the build that matches this database";
  }
  return fail(ErrorCode::kFailedPrecondition, std::move(message));
}

Status Migrator::ensure_history_table() {
  return db_.transact([&](Session& s) -> Status {
    // Concurrent CREATE TABLE IF NOT EXISTS can still collide on PostgreSQL.
    if (auto locked = lock_migrations(s, service_); !locked) return locked;
    return s.execute_script(
        "CREATE TABLE IF NOT EXISTS schema_history ("
        " version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL,"
        " script TEXT NOT NULL,"
        " checksum BIGINT NOT NULL,"
        " installed_at BIGINT NOT NULL,"
        " execution_ms BIGINT NOT NULL,"
        " success BOOLEAN NOT NULL)");
  });
}

Result<std::vector<Migration>> Migrator::migrate(bool dry_run) {
  auto st = status();
  if (!st) return fail(st.error());
  for (const auto& p : st->problems) {
    if (p.kind == SchemaProblem::Kind::kChecksumChanged ||
        p.kind == SchemaProblem::Kind::kMissingFile) {
      return fail(ErrorCode::kFailedPrecondition,
                  "refusing to migrate " + service_ + ": " + p.detail);
    }
  }
  if (dry_run) return st->pending;

  if (auto created = ensure_history_table(); !created) {
    // Two processes may race to create the table; the loser sees it exists.
    if (created.error().code() != ErrorCode::kAlreadyExists) return fail(created.error());
  }
  std::vector<Migration> applied;
  for (const Migration& m : st->pending) {
    const int64_t started = clock_.now_unix_ms();
    Status result = apply(m);
    if (!result) {
      if (result.error().code() == ErrorCode::kAlreadyExists) continue;  // another process did it
      (void)record_failure(m, started);
      return fail(result.error().with_context("migration " + label(m.version, m.description) +
                                              " of " + service_ + " failed and was rolled back"));
    }
    applied.push_back(m);
  }
  return applied;
}

Status Migrator::apply(const Migration& m) {
  return db_.transact([&](Session& s) -> Status {
    if (auto locked = lock_migrations(s, service_); !locked) return locked;
    auto existing = s.query("SELECT success FROM schema_history WHERE version = $1",
                            {static_cast<int64_t>(m.version)});
    if (!existing) return fail(existing.error());
    if (!existing->empty()) {
      if ((*existing)[0].get<bool>(0)) {
        return fail(ErrorCode::kAlreadyExists, "applied meanwhile by another process");
      }
      auto removed = s.execute("DELETE FROM schema_history WHERE version = $1",
                               {static_cast<int64_t>(m.version)});
      if (!removed) return fail(removed.error());
    }
    const int64_t started = clock_.now_unix_ms();
    if (auto run = s.execute_script(m.sql); !run) return run;
    const int64_t finished = clock_.now_unix_ms();
    return insert_history(s, m, finished, finished - started, true);
  });
}

Status Migrator::record_failure(const Migration& m, int64_t started_ms) {
  return db_.transact([&](Session& s) -> Status {
    auto removed = s.execute("DELETE FROM schema_history WHERE version = $1 AND NOT success",
                             {static_cast<int64_t>(m.version)});
    if (!removed) return fail(removed.error());
    const int64_t now = clock_.now_unix_ms();
    return insert_history(s, m, now, now - started_ms, false);
  });
}

}  // namespace seatflow::db
