// What Seatflow's SQLite adapter adds to SQLite itself: the same
// transactions, written the way the services write them (a guarded one-row
// UPDATE and an outbox INSERT; a one-row SELECT by key), run through
// db::Database::transact and through SQLite's C API with the statements
// prepared once. Both on a file set up as the adapter sets up its own (WAL,
// synchronous=NORMAL, 2 KiB pages).
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <unistd.h>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "db/database.hpp"
#include "db/sqlite_database.hpp"
#include "db/sqlite_wal_vfs.hpp"

namespace {

namespace fs = std::filesystem;
using seatflow::db::Database;
using seatflow::db::Session;

constexpr int64_t kSeats = 10'000;
constexpr const char* kSchema =
    "CREATE TABLE seats (id INTEGER PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL);"
    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " payload TEXT NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER);"
    "CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;";
constexpr const char* kUpdate =
    "UPDATE seats SET version = version + 1 WHERE id = $1 AND state = 'AVAILABLE'";
constexpr const char* kInsert = "INSERT INTO outbox (id, payload, created_at) VALUES ($1, $2, $3)";
constexpr const char* kSelect = "SELECT state, version FROM seats WHERE id = $1";
const std::string kPayload(200, 'x');

// A fresh file with the schema and kSeats seats; removed with the object.
class File {
 public:
  File()
      : dir_(fs::temp_directory_path() /
             ("seatflow-db-bench-" + std::to_string(getpid()) + "-" + std::to_string(created++))) {
    fs::create_directories(dir_);
  }
  ~File() { fs::remove_all(dir_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  std::string path() const { return (dir_ / "bench.db").string(); }

 private:
  static inline int created = 0;
  fs::path dir_;
};

// A message id as the outbox has them: unique, uuid-sized.
std::string message_id(int64_t i) {
  return "0190a3b2-7c4d-7e5f-8a9b-" + std::to_string(1'000'000'000'000 + i);
}

std::unique_ptr<Database> open_database(const File& file) {
  auto db = seatflow::db::open_sqlite({.path = file.path()});
  if (!db) throw std::runtime_error(db.error().to_string());
  auto made = (*db)->transact([](Session& s) -> seatflow::Status {
    if (auto st = s.execute_script(kSchema); !st) return st;
    for (int64_t id = 1; id <= kSeats; ++id) {
      if (auto n =
              s.execute("INSERT INTO seats (id, state, version) VALUES ($1, 'AVAILABLE', 0)", {id});
          !n) {
        return seatflow::fail(n.error());
      }
    }
    return seatflow::ok();
  });
  if (!made) throw std::runtime_error(made.error().to_string());
  return std::move(*db);
}

void bm_adapter_write(benchmark::State& state) {
  File file;
  auto db = open_database(file);
  int64_t i = 0;
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    ++i;
    auto done = db->transact([&](Session& s) -> seatflow::Status {
      auto n = s.execute(kUpdate, {i % kSeats + 1});
      if (!n) return seatflow::fail(n.error());
      return s.execute_deferred(kInsert, {message_id(i), kPayload, i});
    });
    if (!done) state.SkipWithError(done.error().to_string().c_str());
  }
}
BENCHMARK(bm_adapter_write)->MeasureProcessCPUTime();

void bm_adapter_read(benchmark::State& state) {
  File file;
  auto db = open_database(file);
  int64_t i = 0;
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    ++i;
    auto row = db->transact(
        [&](Session& s) -> seatflow::Result<int64_t> {
          auto rows = s.query(kSelect, {i % kSeats + 1});
          if (!rows) return seatflow::fail(rows.error());
          return (*rows)[0].get<int64_t>(1);
        },
        {.read_only = true});
    if (!row) state.SkipWithError(row.error().to_string().c_str());
    benchmark::DoNotOptimize(row);
  }
}
BENCHMARK(bm_adapter_read)->MeasureProcessCPUTime();

// SQLite's C API on its own.
class Raw {
 public:
  explicit Raw(const File& file) {
    open_database(file);  // the same schema and rows, made by the adapter
    check(sqlite3_open_v2(file.path().c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                          seatflow::db::wal_coalescing_vfs()));
    check(sqlite3_exec(db_, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", nullptr, nullptr,
                       nullptr));
    begin_ = prepare("BEGIN IMMEDIATE");
    read_begin_ = prepare("BEGIN");
    commit_ = prepare("COMMIT");
    update_ = prepare(kUpdate);
    insert_ = prepare(kInsert);
    select_ = prepare(kSelect);
  }
  ~Raw() {
    for (sqlite3_stmt* s : {begin_, read_begin_, commit_, update_, insert_, select_}) {
      sqlite3_finalize(s);
    }
    sqlite3_close(db_);
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  void write(int64_t i) {
    step(begin_);
    sqlite3_bind_int64(update_, 1, i % kSeats + 1);
    step(update_);
    const std::string id = message_id(i);
    sqlite3_bind_text(insert_, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_, 2, kPayload.data(), static_cast<int>(kPayload.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 3, i);
    step(insert_);
    step(commit_);
  }

  int64_t read(int64_t i) {
    step(read_begin_);
    sqlite3_bind_int64(select_, 1, i % kSeats + 1);
    int64_t version = -1;
    if (sqlite3_step(select_) == SQLITE_ROW) version = sqlite3_column_int64(select_, 1);
    sqlite3_reset(select_);
    step(commit_);
    return version;
  }

 private:
  static void check(int rc) {
    if (rc != SQLITE_OK) throw std::runtime_error(sqlite3_errstr(rc));
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr));
    return s;
  }
  static void step(sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(sqlite3_errstr(rc));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* read_begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
};

void bm_sqlite_write(benchmark::State& state) {
  File file;
  Raw raw(file);
  int64_t i = 0;
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    raw.write(++i);
  }
}
BENCHMARK(bm_sqlite_write);

void bm_sqlite_read(benchmark::State& state) {
  File file;
  Raw raw(file);
  int64_t i = 0;
  for ([[maybe_unused]] auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    benchmark::DoNotOptimize(raw.read(++i));
  }
}
BENCHMARK(bm_sqlite_read);

}  // namespace

BENCHMARK_MAIN();
