#include "db/sqlite_database.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sqlite3.h>

#include "core/log.hpp"
#include "core/text.hpp"
#include "core/thread_name.hpp"
#include "db/sqlite_wal_vfs.hpp"
#include "trace/span.hpp"

namespace seatflow::db {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

ErrorCode code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return ErrorCode::kAlreadyExists;
      }
      return ErrorCode::kFailedPrecondition;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorCode::kAborted;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: return ErrorCode::kUnavailable;
    case SQLITE_READONLY: return ErrorCode::kFailedPrecondition;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return ErrorCode::kDataLoss;
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return ErrorCode::kInvalidArgument;
    default: return ErrorCode::kInternal;
  }
}

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error(code_for(db != nullptr ? sqlite3_extended_errcode(db) : rc), std::move(message));
}

bool only_whitespace_or_comments(const char* p) {
  while (*p != '\0') {
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';') {
      ++p;
    } else if (p[0] == '-' && p[1] == '-') {
      while (*p != '\0' && *p != '\n') ++p;
    } else {
      return false;
    }
  }
  return true;
}

class SqliteConnection {
 public:
  explicit SqliteConnection(DbHandle db) : db_(std::move(db)) {}

  sqlite3* handle() const { return db_.get(); }

  Status exec(std::string_view sql) {
    // One statement (BEGIN, COMMIT, ...): from the statement cache, not
    // parsed again on every transaction.
    if (sql.find(';') == std::string_view::npos) {
      auto done = query(sql, {});
      if (!done) return fail(done.error());
      return ok();
    }
    const std::string text(sql);
    char* error = nullptr;
    const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      return fail(Error(code_for(sqlite3_extended_errcode(db_.get())), std::move(message)));
    }
    return ok();
  }

  Result<Rows> query(std::string_view sql, const Params& params) {
    auto prepared = prepare(sql);
    if (!prepared) return fail(prepared.error());
    sqlite3_stmt* s = (*prepared)->stmt.get();
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{s};

    if (auto bound = bind(**prepared, params); !bound) return fail(bound.error());

    const int ncols = sqlite3_column_count(s);
    std::shared_ptr<const std::vector<std::string>>& columns = (*prepared)->columns;
    if (columns == nullptr || columns->size() != static_cast<size_t>(ncols)) {
      // Named once per statement (again only if a schema change re-prepared
      // it with other columns); every result shares the names.
      auto names = std::make_shared<std::vector<std::string>>();
      names->reserve(static_cast<size_t>(ncols));
      for (int i = 0; i < ncols; ++i) names->emplace_back(sqlite3_column_name(s, i));
      columns = std::move(names);
    }

    std::vector<Row> rows;
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return fail(sqlite_error(db_.get(), rc, "statement failed"));
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(ncols));
      for (int i = 0; i < ncols; ++i) values.push_back(column_value(s, i));
      rows.emplace_back(columns, std::move(values));
    }
    const int64_t affected = sqlite3_stmt_readonly(s) ? 0 : sqlite3_changes64(db_.get());
    return Rows(columns, std::move(rows), affected);
  }

 private:
  // A prepared statement, the number N of each of its placeholders ($N, in
  // SQLite's order) and the names of its result columns.
  struct Prepared {
    StmtHandle stmt;
    std::vector<size_t> placeholders;
    size_t highest = 0;  // the largest N
    std::shared_ptr<const std::vector<std::string>> columns;
  };

  Result<Prepared*> prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return &it->second;
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StmtHandle stmt(raw);
    if (rc != SQLITE_OK) return fail(sqlite_error(db_.get(), rc, "cannot prepare statement"));
    if (stmt == nullptr) return fail(ErrorCode::kInvalidArgument, "empty statement");
    const std::string rest(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
    if (!only_whitespace_or_comments(rest.c_str())) {
      return fail(ErrorCode::kInvalidArgument,
                  "query() runs one statement; this text holds several (use execute_script)");
    }
    Prepared prepared{std::move(stmt), {}, 0, nullptr};
    if (auto st = read_placeholders(prepared); !st) return fail(st.error());
    return &statements_.emplace(std::string(sql), std::move(prepared)).first->second;
  }

  // Reads $N from each placeholder's name, once per statement. SQLite
  // numbers "$N" by first appearance, not by N.
  static Status read_placeholders(Prepared& prepared) {
    sqlite3_stmt* s = prepared.stmt.get();
    const int count = sqlite3_bind_parameter_count(s);
    prepared.placeholders.reserve(static_cast<size_t>(count));
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(s, i);
      size_t n = 0;
      if (name == nullptr || name[0] != '$' ||
          std::from_chars(name + 1, name + std::strlen(name), n).ec != std::errc() || n == 0) {
        return fail(ErrorCode::kInvalidArgument,
                    std::string("placeholders must be written $1, $2, ...; found ") +
                        (name != nullptr ? name : "?"));
      }
      prepared.placeholders.push_back(n);
      prepared.highest = std::max(prepared.highest, n);
    }
    return ok();
  }

  // Binds $N to params[N-1].
  Status bind(const Prepared& prepared, const Params& params) {
    if (prepared.highest > params.size()) {
      return fail(ErrorCode::kInvalidArgument, "parameter $" + std::to_string(prepared.highest) +
                                                   " has no value (" +
                                                   std::to_string(params.size()) + " given)");
    }
    if (prepared.highest != params.size()) {
      return fail(ErrorCode::kInvalidArgument,
                  "statement uses " + std::to_string(prepared.highest) + " parameters but " +
                      std::to_string(params.size()) + " were given");
    }
    for (size_t i = 0; i < prepared.placeholders.size(); ++i) {
      if (auto st = bind_one(prepared.stmt.get(), static_cast<int>(i + 1),
                             params[prepared.placeholders[i] - 1]);
          !st) {
        return st;
      }
    }
    return ok();
  }

  // Text and blobs are bound without a copy (SQLITE_STATIC): query() clears
  // the bindings before it returns, while the caller's params still hold them.
  Status bind_one(sqlite3_stmt* s, int index, const Value& value) {
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::nullptr_t>(value)) {
      rc = sqlite3_bind_null(s, index);
    } else if (const auto* i = std::get_if<int64_t>(&value)) {
      rc = sqlite3_bind_int64(s, index, *i);
    } else if (const auto* d = std::get_if<double>(&value)) {
      rc = sqlite3_bind_double(s, index, *d);
    } else if (const auto* b = std::get_if<bool>(&value)) {
      rc = sqlite3_bind_int(s, index, *b ? 1 : 0);
    } else if (const auto* str = std::get_if<std::string>(&value)) {
      rc = sqlite3_bind_text64(s, index, str->data(), str->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else if (const auto* blob = std::get_if<Blob>(&value)) {
      rc = sqlite3_bind_blob64(s, index, blob->bytes.data(), blob->bytes.size(), SQLITE_STATIC);
    }
    if (rc != SQLITE_OK) return fail(sqlite_error(db_.get(), rc, "cannot bind parameter"));
    return ok();
  }

  static Value column_value(sqlite3_stmt* s, int i) {
    switch (sqlite3_column_type(s, i)) {
      case SQLITE_INTEGER: return Value(static_cast<int64_t>(sqlite3_column_int64(s, i)));
      case SQLITE_FLOAT: return Value(sqlite3_column_double(s, i));
      case SQLITE_TEXT: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
        return Value(std::string(text, static_cast<size_t>(sqlite3_column_bytes(s, i))));
      }
      case SQLITE_BLOB: {
        const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(s, i));
        const auto size = static_cast<size_t>(sqlite3_column_bytes(s, i));
        return Value(Blob{std::vector<uint8_t>(data, data + size)});
      }
      default: return Value(nullptr);
    }
  }

  DbHandle db_;
  std::unordered_map<std::string, Prepared, TextHash, std::equal_to<>> statements_;
};

class SqliteSession final : public Session {
 public:
  explicit SqliteSession(SqliteConnection& connection) : connection_(connection) {}

  // False once SQLite has rolled the transaction back on its own (an I/O
  // error, a full disk): what the session did so far is gone.
  bool in_transaction() const { return sqlite3_get_autocommit(connection_.handle()) == 0; }

  Dialect dialect() const override { return Dialect::kSqlite; }
  Result<Rows> run_query(std::string_view sql, const Params& params) override {
    return connection_.query(sql, params);
  }
  Status execute_script(std::string_view sql) override { return connection_.exec(sql); }

 private:
  SqliteConnection& connection_;
};

// WAL checkpoints off the commit path. SQLite's automatic checkpoint runs
// inside the COMMIT that takes the WAL past its threshold, on the writer
// connection, so every write of the file waits for it: the copy of the
// WAL's pages into the database file and that file's fsync. Here the
// writer's commit only notes the WAL's size, and a thread of its own
// checkpoints the file on a connection of its own, PASSIVE as the automatic
// checkpoint is (it never waits for readers or the writer), while the
// writer goes on, each time the WAL has grown by `checkpoint_pages`.
//
// The WAL starts over from its beginning only when a write begins with
// every frame of it copied, and under a steady stream of writes that never
// happens by itself: each checkpoint leaves the frames written while it
// copied. The WAL then grew for as long as the writes went on, by some
// 100 KB a purchase in a flash sale, each commit into newly allocated
// blocks of the file. So once the WAL is `restart_pages` long, the writer
// itself copies what is left right after the thread's next checkpoint, and
// the write after that starts the WAL over. That copy, and its two fsyncs,
// hold the file's writes up for a moment (10-40 ms on the test machine's
// disk) once per cycle.
class Checkpointer {
 public:
  // Takes over the writer's checkpoints.
  Checkpointer(sqlite3* writer, std::unique_ptr<SqliteConnection> own, std::string path,
               int checkpoint_pages, int restart_pages)
      : writer_(writer),
        own_(std::move(own)),
        path_(std::move(path)),
        checkpoint_pages_(checkpoint_pages),
        restart_pages_(restart_pages),
        finish_at_(restart_pages) {
    sqlite3_wal_hook(writer_, &Checkpointer::committed, this);
    thread_ = std::thread([this] { run(); });
  }

  ~Checkpointer() {
    sqlite3_wal_hook(writer_, nullptr, nullptr);
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

 private:
  // The writer's WAL hook, after each commit: `pages` is the WAL's size.
  // Asks for a checkpoint each time the WAL has grown by the threshold
  // since the last ask, or finishes one once it is long. (A WAL whose
  // readers kept a checkpoint from copying all of it does not start over,
  // and checkpointing again after every commit would copy, and fsync, a few
  // pages at a time.)
  static int committed(void* self, sqlite3* db, const char* /*schema*/, int pages) {
    auto* checkpointer = static_cast<Checkpointer*>(self);
    if (pages < checkpointer->last_pages_) {  // the WAL started over
      checkpointer->asked_at_ = 0;
      checkpointer->finish_at_ = checkpointer->restart_pages_;
      checkpointer->finish_after_ = 0;
    }
    checkpointer->last_pages_ = pages;
    if (pages >= checkpointer->finish_at_) {
      checkpointer->finish(db, pages);
      return SQLITE_OK;
    }
    if (pages - checkpointer->asked_at_ >= checkpointer->checkpoint_pages_) {
      checkpointer->ask(pages);
    }
    return SQLITE_OK;
  }

  // Wakes the thread for a checkpoint.
  void ask(int pages) {
    asked_at_ = pages;
    {
      std::lock_guard lock(mu_);
      due_ = true;
    }
    wake_.notify_one();
  }

  // On the writer, right after a commit, once the WAL is long: copies what
  // the thread's checkpoint left (the frames written while it copied), so
  // that the next write starts the WAL over. The thread is asked first, and
  // not again until then: this copies right after its checkpoint ends, when
  // what is left is least. If a reader kept this from copying every frame,
  // the thread takes over again for checkpoint_pages.
  void finish(sqlite3* db, int pages) {
    const uint64_t done = checkpoints_done_.load(std::memory_order_acquire);
    if (finish_after_ == 0) {
      // One checkpoint of the thread from now: the one in progress, if
      // any, started before the WAL was this long.
      finish_after_ = done + 1 + (copying_.load(std::memory_order_acquire) ? 1 : 0);
      ask(pages);
      return;
    }
    if (done < finish_after_ || copying_.load(std::memory_order_acquire)) return;
    const int rc =
        sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc == SQLITE_BUSY) return;  // the thread began another checkpoint
    if (rc != SQLITE_OK) log::warn("checkpoint of {}: {}", path_, sqlite3_errmsg(db));
    finish_at_ = pages + checkpoint_pages_;
    finish_after_ = 0;
  }

  void run() {
    set_thread_name("checkpoint");
    std::unique_lock lock(mu_);
    while (true) {
      wake_.wait(lock, [&] { return stopping_ || due_; });
      if (stopping_) return;
      due_ = false;
      lock.unlock();
      copying_.store(true, std::memory_order_release);
      const int rc = sqlite3_wal_checkpoint_v2(own_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               nullptr, nullptr);
      copying_.store(false, std::memory_order_release);
      checkpoints_done_.fetch_add(1, std::memory_order_release);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log::warn("checkpoint of {}: {}", path_, sqlite3_errmsg(own_->handle()));
      }
      lock.lock();
    }
  }

  sqlite3* const writer_;
  const std::unique_ptr<SqliteConnection> own_;
  const std::string path_;
  int last_pages_ = 0;  // the writer's: the WAL's size at the last commit
  int asked_at_ = 0;    // the writer's: its size at the last ask
  const int checkpoint_pages_;
  const int restart_pages_;
  int finish_at_;                              // the writer's: the size at which it finishes
  uint64_t finish_after_ = 0;                  // the writer's: the thread's checkpoint it waits for
  std::atomic<bool> copying_{false};           // the thread is checkpointing
  std::atomic<uint64_t> checkpoints_done_{0};  // by the thread
  std::mutex mu_;
  std::condition_variable wake_;
  bool due_ = false;       // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

// A read-write transaction body waiting for the writer connection.
struct PendingWrite {
  const std::function<Status(Session&)>* body = nullptr;
  std::optional<trace::SpanContext> context;  // its caller's, current while it runs
  Status status;
  std::vector<std::function<void()>> after_commit;
  bool done = false;  // guarded by the queue's mutex
  std::condition_variable wake;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(SqliteOptions options) : options_(std::move(options)) {}

  Status open() {
    auto writer = connect(false);
    if (!writer) return fail(writer.error());
    writer_ = std::move(*writer);
    // The page size and WAL are properties of the file: set once, by the
    // writer, the page size before anything is written (else it is ignored).
    if (auto st = writer_->exec("PRAGMA page_size=" + std::to_string(options_.page_size)); !st) {
      return fail(st.error().with_context("cannot set the page size of " + options_.path));
    }
    if (auto st = writer_->exec("PRAGMA journal_mode=WAL"); !st) {
      return fail(st.error().with_context("cannot enable WAL on " + options_.path));
    }
    auto own = connect(false);
    if (!own) return fail(own.error());
    checkpointer_ =
        std::make_unique<Checkpointer>(writer_->handle(), std::move(*own), options_.path,
                                       options_.checkpoint_pages, options_.wal_restart_pages);
    return ok();
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Status run_transaction(const TransactionOptions& options,
                         const std::function<Status(Session&)>& body) override {
    if (!options.read_only) return write(body);
    auto reader = acquire_reader();
    if (!reader) return fail(reader.error());
    SqliteSession session(**reader);
    Status status = run_in_transaction(session, "BEGIN", body);
    release_reader(std::move(*reader));
    return status;
  }

 private:
  // Group commit. Callers queue their bodies; one of them at a time leads:
  // it takes the queue (up to max_group_commit bodies) and runs it on the
  // writer connection as one transaction, each body in a savepoint of its
  // own, then commits once and wakes the others. A failed body rolls back to
  // its savepoint and fails alone. Under load many writes share a commit
  // and the WAL frames of the pages they have in common (a table's last
  // leaf, an index's); alone, a write is its own group.
  Status write(const std::function<Status(Session&)>& body) {
    PendingWrite me;
    me.body = &body;
    if (const trace::SpanContext* context = trace::current_context()) me.context = *context;
    std::unique_lock lock(queue_mu_);
    queue_.push_back(&me);
    while (!me.done) {
      if (leading_) {
        me.wake.wait(lock);
        continue;
      }
      leading_ = true;
      const auto n = static_cast<std::ptrdiff_t>(
          std::min(queue_.size(), static_cast<size_t>(options_.max_group_commit)));
      std::vector<PendingWrite*> group(queue_.begin(), queue_.begin() + n);
      queue_.erase(queue_.begin(), queue_.begin() + n);
      lock.unlock();
      commit_group(group);
      lock.lock();
      leading_ = false;
      for (PendingWrite* w : group) {
        w->done = true;
        w->wake.notify_one();
      }
      // The next leader, if anyone is still waiting.
      if (!queue_.empty()) queue_.front()->wake.notify_one();
    }
    lock.unlock();
    for (auto& fn : me.after_commit) fn();
    return std::move(me.status);
  }

  // Runs `group` on the writer connection; each member gets its status and,
  // once committed, its after-commit callbacks.
  void commit_group(std::span<PendingWrite* const> group) {
    SqliteSession session(*writer_);
    attach(session);
    if (group.size() == 1) {
      // Alone: no savepoint, exactly run_in_transaction's sequence.
      PendingWrite& w = *group[0];
      trace::Scope scope(w.context.value_or(trace::SpanContext{}));
      w.status = run_in_transaction(session, "BEGIN IMMEDIATE", [&](Session& s) -> Status {
        Status st = (*w.body)(s);
        if (st) w.after_commit = take_after_commit(s);
        return st;
      });
      if (!w.status) w.after_commit.clear();
      return;
    }
    size_t next = 0;
    while (next < group.size()) {
      const size_t first = next;
      if (auto st = session.execute_script("BEGIN IMMEDIATE"); !st) {
        for (size_t i = first; i < group.size(); ++i) {
          group[i]->status = fail(st.error().with_context("BEGIN failed"));
        }
        return;
      }
      bool lost = false;
      while (next < group.size() && !lost) {
        PendingWrite& w = *group[next++];
        w.status = run_in_savepoint(session, w);
        lost = !session.in_transaction();
      }
      Status end = ok();
      if (lost) {
        end = fail(ErrorCode::kUnavailable,
                   "the transaction was rolled back with another write of its group commit");
      } else if (auto st = session.execute_script("COMMIT"); !st) {
        (void)session.execute_script("ROLLBACK");
        end = fail(st.error().with_context("COMMIT failed"));
      }
      if (end) continue;
      for (size_t i = first; i < next; ++i) {
        PendingWrite& w = *group[i];
        w.after_commit.clear();
        if (w.status) w.status = end;
      }
    }
  }

  Status run_in_savepoint(SqliteSession& session, PendingWrite& w) const {
    trace::Scope scope(w.context.value_or(trace::SpanContext{}));
    if (auto st = session.execute_script("SAVEPOINT w"); !st) return st;
    Status result = run_body(session, *w.body);
    if (result) {
      w.after_commit = take_after_commit(session);
      (void)session.execute_script("RELEASE w");
      return result;
    }
    (void)take_after_commit(session);
    if (session.in_transaction()) {
      (void)session.execute_script("ROLLBACK TO w");
      (void)session.execute_script("RELEASE w");
    }
    return result;
  }

  Result<std::unique_ptr<SqliteConnection>> connect(bool read_only) {
    sqlite3* raw = nullptr;
    const int flags =
        SQLITE_OPEN_NOMUTEX |
        (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    // Each WAL commit in one write; the platform's default VFS if the
    // wrapper could not be registered.
    const int rc =
        sqlite3_open_v2(options_.path.c_str(), &raw, flags, wal_coalescing_vfs(options_.exclusive));
    DbHandle db(raw);
    if (rc != SQLITE_OK) {
      return fail(sqlite_error(db.get(), rc, "cannot open SQLite database " + options_.path));
    }
    sqlite3_busy_timeout(db.get(), static_cast<int>(options_.busy_timeout.count()));
    sqlite3_extended_result_codes(db.get(), 1);
    auto connection = std::make_unique<SqliteConnection>(std::move(db));
    const std::string pragmas =
        "PRAGMA foreign_keys=ON; PRAGMA synchronous=" + options_.synchronous + ";" +
        (read_only ? " PRAGMA query_only=ON;" : "");
    if (auto st = connection->exec(pragmas); !st) {
      // The first statement reads the file: locked past the busy timeout,
      // by a process that holds it for itself (SqliteOptions::exclusive).
      if (st.error().code() == ErrorCode::kAborted) {
        return fail(ErrorCode::kUnavailable,
                    "cannot open " + options_.path +
                        ": another process holds it for itself (database is locked)");
      }
      return fail(st.error().with_context("cannot configure " + options_.path));
    }
    return connection;
  }

  Result<std::unique_ptr<SqliteConnection>> acquire_reader() {
    {
      std::unique_lock lock(readers_mu_);
      readers_cv_.wait(lock, [&] {
        return !idle_readers_.empty() || open_readers_ < options_.reader_connections;
      });
      if (!idle_readers_.empty()) {
        auto reader = std::move(idle_readers_.back());
        idle_readers_.pop_back();
        return reader;
      }
      ++open_readers_;
    }
    auto reader = connect(true);
    if (!reader) {
      std::lock_guard lock(readers_mu_);
      --open_readers_;
      readers_cv_.notify_one();
    }
    return reader;
  }

  void release_reader(std::unique_ptr<SqliteConnection> reader) {
    std::lock_guard lock(readers_mu_);
    idle_readers_.push_back(std::move(reader));
    readers_cv_.notify_one();
  }

  const SqliteOptions options_;

  std::unique_ptr<SqliteConnection> writer_;    // used by the group commit's leader
  std::unique_ptr<Checkpointer> checkpointer_;  // before the writer goes

  std::mutex queue_mu_;
  std::deque<PendingWrite*> queue_;  // guarded by queue_mu_
  bool leading_ = false;             // guarded by queue_mu_

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;  // guarded by readers_mu_
  int open_readers_ = 0;                                         // guarded by readers_mu_
};

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite(const SqliteOptions& options) {
  // Memory statistics take a process-wide mutex on every allocation, which
  // the writer and the readers would contend on; nothing here reads them.
  // Must precede SQLite's initialization; if something initialized it
  // already, the call fails and changes nothing.
  static std::once_flag configure;
  std::call_once(configure, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  if (options.synchronous != "NORMAL" && options.synchronous != "FULL" &&
      options.synchronous != "OFF") {
    return fail(ErrorCode::kInvalidArgument,
                "SQLite synchronous must be OFF, NORMAL or FULL, got " + options.synchronous);
  }
  if (options.max_group_commit < 1) {
    return fail(ErrorCode::kInvalidArgument, "SQLite needs a group commit of at least one write");
  }
  if (options.page_size < 512 || options.page_size > 65536 ||
      (options.page_size & (options.page_size - 1)) != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "SQLite's page size must be a power of two from 512 to 65536, got " +
                    std::to_string(options.page_size));
  }
  if (options.reader_connections < 1) {
    return fail(ErrorCode::kInvalidArgument, "SQLite needs at least one reader connection");
  }
  if (options.checkpoint_pages < 1) {
    return fail(ErrorCode::kInvalidArgument,
                "SQLite's checkpoint interval must be at least one page, got " +
                    std::to_string(options.checkpoint_pages));
  }
  if (options.wal_restart_pages < 1) {
    return fail(ErrorCode::kInvalidArgument,
                "SQLite's WAL restart length must be at least one page, got " +
                    std::to_string(options.wal_restart_pages));
  }
  auto db = std::make_unique<SqliteDatabase>(options);
  if (auto st = db->open(); !st) return fail(st.error());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace seatflow::db
