// The Database port: what domain code sees of SQLite and PostgreSQL.
//
// All SQL is parameterized: values travel as Params and are bound, never
// spliced into the text. Placeholders are written `$1`, `$2`, ... in both
// dialects; `$N` always binds params[N-1], however often and in whatever
// order it appears. Every statement runs inside a transaction obtained from
// Database::transact(), on a connection from the adapter's pool.
//
// Row access is typed. Reading a column as a type it cannot hold (a NULL as
// int64_t, text as an integer) is a programming error against the schema: it
// throws RowAccessError, which transact() turns into a rolled-back
// ErrorCode::kInternal.
//
// Times are stored as BIGINT Unix milliseconds and ids as TEXT, so the same
// SQL works on both databases.
//
// Notifications (notify/listen) are a cheap "something changed" signal for
// workers that would otherwise poll: a transaction calls notify(session,
// channel), and when it commits every Listener on that channel wakes. On
// SQLite they reach listeners in this process; on PostgreSQL they are
// LISTEN/NOTIFY, so listeners in every process wake. A wake-up carries no
// data and may be spurious; the woken worker reads the tables.
//
// Thread safety: Database is safe to use from any thread. A Session belongs
// to the one transaction body it was passed to; do not keep it. A Listener
// is waited on by one thread; interrupt() may come from any. A Listener
// must not outlive its Database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/status.hpp"

namespace seatflow::trace {
class Span;
class Tracer;
}  // namespace seatflow::trace

namespace seatflow::db {

enum class Dialect { kSqlite, kPostgres };

// The highest N of the `$N` placeholders in `sql`, skipping string literals,
// quoted identifiers, comments and dollar-quoted bodies.
size_t highest_placeholder(std::string_view sql);
// "$<first>, $<first+1>, ...": `count` placeholders, for IN lists and
// multi-row VALUES built at run time.
std::string placeholder_list(size_t first, size_t count);
std::string_view dialect_name(Dialect dialect);

struct Blob {
  std::vector<uint8_t> bytes;
  friend bool operator==(const Blob&, const Blob&) = default;
};

using Value = std::variant<std::nullptr_t, int64_t, double, bool, std::string, Blob>;
using Params = std::vector<Value>;

class RowAccessError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
      : columns_(std::move(columns)), values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  const Value& value(size_t column) const;
  bool is_null(size_t column) const {
    return std::holds_alternative<std::nullptr_t>(value(column));
  }

  // T is one of int64_t, int32_t, double, bool, std::string, Blob, or
  // std::optional of one of them (NULL -> nullopt). Throws RowAccessError.
  template <typename T>
  T get(size_t column) const;
  template <typename T>
  T get(std::string_view column_name) const {
    return get<T>(index_of(column_name));
  }

 private:
  size_t index_of(std::string_view column_name) const;
  [[noreturn]] void mismatch(size_t column, std::string_view wanted) const;

  int64_t as_int64(size_t column) const;
  double as_double(size_t column) const;
  bool as_bool(size_t column) const;
  std::string as_string(size_t column) const;
  Blob as_blob(size_t column) const;

  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
T Row::get(size_t column) const {
  if constexpr (IsOptional<T>::value) {
    if (is_null(column)) return std::nullopt;
    return get<typename T::value_type>(column);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return as_int64(column);
  } else if constexpr (std::is_same_v<T, int32_t>) {
    const int64_t v = as_int64(column);
    if (v < INT32_MIN || v > INT32_MAX) mismatch(column, "int32");
    return static_cast<int32_t>(v);
  } else if constexpr (std::is_same_v<T, double>) {
    return as_double(column);
  } else if constexpr (std::is_same_v<T, bool>) {
    return as_bool(column);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return as_string(column);
  } else if constexpr (std::is_same_v<T, Blob>) {
    return as_blob(column);
  } else {
    static_assert(!sizeof(T), "unsupported column type");
  }
}

// The result of one statement: its rows (if any) and how many rows it changed.
class Rows {
 public:
  Rows() : columns_(std::make_shared<std::vector<std::string>>()) {}
  Rows(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Row> rows,
       int64_t affected)
      : columns_(std::move(columns)), rows_(std::move(rows)), affected_(affected) {}

  const std::vector<std::string>& columns() const { return *columns_; }
  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  const Row& operator[](size_t i) const { return rows_[i]; }
  std::vector<Row>::const_iterator begin() const { return rows_.begin(); }
  std::vector<Row>::const_iterator end() const { return rows_.end(); }

  // Rows inserted, updated or deleted by the statement.
  int64_t affected() const { return affected_; }

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Row> rows_;
  int64_t affected_ = 0;
};

// One connection inside one transaction.
class Session {
 public:
  virtual ~Session() = default;

  virtual Dialect dialect() const = 0;

  // Runs exactly one statement. Errors carry canonical codes: a unique-key
  // violation is kAlreadyExists, another constraint kFailedPrecondition, a
  // serialization failure or deadlock kAborted, a lost connection
  // kUnavailable. Inside a trace (a current span context) and with a tracer
  // set on the Database, the statement gets a CLIENT span named after its
  // operation and table ("SELECT seats"), with the database semantic
  // conventions' attributes.
  Result<Rows> query(std::string_view sql, const Params& params = {});

  // Like query(), returning the number of rows changed.
  Result<int64_t> execute(std::string_view sql, const Params& params = {});
  // Runs a statement of which the caller needs neither rows nor count, only
  // that it succeeds: an insert into an outbox or a history. The adapter may
  // hold it back and send it with the transaction's next statement, or with
  // its COMMIT, in the same round trip (PostgreSQL); its error then comes
  // back from that statement or from the commit instead, with the same code,
  // and the transaction rolls back as after any error. Statements still run
  // in the order they were given. Outside a transaction it runs at once.
  // Traced as query() is.
  Status execute_deferred(std::string_view sql, const Params& params = {});

  // Runs a script of several statements with no parameters. For migrations.
  virtual Status execute_script(std::string_view sql) = 0;

  // Runs `fn` once this transaction has committed, on the thread that called
  // transact(), in the order registered; never when it rolls back. `fn`
  // must not throw.
  void after_commit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }

 protected:
  // The adapter's statement execution, untraced.
  virtual Result<Rows> run_query(std::string_view sql, const Params& params) = 0;
  // The adapter's execute_deferred(): by default the statement runs at once.
  // `span` is the statement's (non-recording outside a trace); an adapter
  // that holds the statement back keeps it and hands it to finish_span()
  // once the statement has run.
  virtual Status run_deferred(std::string_view sql, const Params& params, trace::Span&& span);
  // Records `outcome` on a statement's span and ends it.
  static void finish_span(trace::Span& span, const Status& outcome);
  // How run_in_transaction begins, commits and rolls back; by default the
  // SQL as a script. An adapter may defer or combine them.
  virtual Status begin_transaction(std::string_view sql) { return execute_script(sql); }
  virtual Status commit_transaction() { return execute_script("COMMIT"); }
  virtual Status rollback_transaction() { return execute_script("ROLLBACK"); }

 private:
  friend class Database;
  // The CLIENT span of `sql` under the current context; a non-recording one
  // outside a sampled trace or without a tracer.
  trace::Span statement_span(std::string_view sql) const;
  // Keeps `error` if it is the transaction's first failed statement's.
  void remember(const Error& error);
  std::vector<std::function<void()>> after_commit_;
  // The transaction's first failed statement: the transaction then never
  // commits, even if the body goes on and returns ok. PostgreSQL would
  // answer its COMMIT with a ROLLBACK, not an error; SQLite would commit the
  // other statements.
  std::optional<Error> failed_;
  const trace::Tracer* tracer_ = nullptr;
  std::string_view namespace_;  // db.namespace of its spans
};

// A worker's end of a notification channel.
class Listener {
 public:
  virtual ~Listener() = default;

  // Waits until the channel is notified (since the previous wait returned),
  // `timeout` passes, or interrupt() is called. True unless it timed out.
  virtual bool wait(std::chrono::milliseconds timeout) = 0;

  // Wakes the wait() in progress, or the next one.
  virtual void interrupt() = 0;
};

class LocalChannels;

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TransactionOptions {
  // Read-only transactions may run in parallel with writes (SQLite readers,
  // PostgreSQL READ ONLY).
  bool read_only = false;
  // PostgreSQL only; SQLite transactions are always serializable.
  Isolation isolation = Isolation::kReadCommitted;
};

class Database {
 public:
  Database();
  virtual ~Database();

  virtual Dialect dialect() const = 0;

  // Runs `body` in a transaction; commits if it returns ok, rolls back if it
  // returns an error or throws RowAccessError. Returns body's error, or the
  // commit's. A transaction in which a statement failed rolls back even if
  // the body returns ok, and returns that statement's error.
  virtual Status run_transaction(const TransactionOptions& options,
                                 const std::function<Status(Session&)>& body) = 0;

  // Signals `channel` ([a-z0-9_.]+) when the session's transaction commits.
  virtual Status notify(Session& session, std::string_view channel);

  // A listener on `channel`; it sees notifications committed after this returns.
  virtual Result<std::unique_ptr<Listener>> listen(std::string_view channel);

  // Traces statements run inside a trace (see Session::query); `name` is
  // their db.namespace (the service). The tracer must outlive the Database.
  // Call before the first transaction.
  void set_tracer(const trace::Tracer* tracer, std::string name);

 protected:
  // For adapters: `begin_sql`, then `body`, then COMMIT, or ROLLBACK when
  // any of them fails, all on `session`.
  Status run_in_transaction(Session& session, std::string_view begin_sql,
                            const std::function<Status(Session&)>& body) const;
  // For adapters that run several callers' bodies in one transaction (a
  // group commit): traces `session`'s statements as run_in_transaction does,
  // and hands over the after-commit callbacks a body registered.
  void attach(Session& session) const;
  static std::vector<std::function<void()>> take_after_commit(Session& session);
  // Runs `body`; a RowAccessError it throws becomes ErrorCode::kInternal,
  // and a body that returns ok after one of its statements failed returns
  // that statement's error.
  static Status run_body(Session& session, const std::function<Status(Session&)>& body);

 public:
  // True when `channel` is a valid notification channel name.
  static bool valid_channel(std::string_view channel);

 private:
  std::unique_ptr<LocalChannels> local_;  // notify/listen within the process
  const trace::Tracer* tracer_ = nullptr;
  std::string name_;

 public:
  // Checks that a connection can be had and used (readiness): runs SELECT 1.
  Status ping();

  // run_transaction() for bodies returning Result<T> or Status.
  template <typename F>
  auto transact(F&& body, const TransactionOptions& options = {})
      -> std::invoke_result_t<F&, Session&>;
};

template <typename F>
auto Database::transact(F&& body, const TransactionOptions& options)
    -> std::invoke_result_t<F&, Session&> {
  using R = std::invoke_result_t<F&, Session&>;
  if constexpr (std::is_same_v<R, Status>) {
    return run_transaction(options, body);
  } else {
    std::optional<typename R::value_type> out;
    Status status = run_transaction(options, [&](Session& session) -> Status {
      R result = body(session);
      if (!result) return fail(result.error());
      out.emplace(std::move(*result));
      return ok();
    });
    if (!status) return R(tl::unexpect, status.error());
    return R(std::move(*out));
  }
}

}  // namespace seatflow::db
